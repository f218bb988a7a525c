//! A fake of the GitHub Gist REST API on 127.0.0.1, for tests of this
//! crate and of anything that drives the `chronicle-gist` binary.
//!
//! It keeps gists with their full revision history in memory, follows
//! GitHub's documented behaviour for the endpoints chronicle-gist uses,
//! records every request, and lets a test script failures:
//!
//! * `GET /gists/{id}`, `GET /gists/{id}/{sha}`: files with `filename`,
//!   `type`, `language`, `raw_url`, `size`, `truncated`, `content` (content
//!   above [`FakeGithub::set_truncate_above`], 1 MB by default, is cut and
//!   `truncated` set), `history` newest first, `updated_at`; only the first
//!   300 files (by name) are listed, with the gist's own `truncated` set
//!   when there are more ([`FakeGithub::set_max_listed_files`]);
//! * `PATCH /gists/{id}` with `{"files": {"a": {"content": ".."}, "b": null}}`
//!   (and `filename` for renames): a new revision when something changed,
//!   answered like GET; 422 with GitHub's error shape for a file name with
//!   `/`, blank content, a file above the size limit (10 MB by default) or
//!   a gist left without files; 400 for a body that is not JSON;
//! * `POST /gists` (201);
//! * `GET /gists/{id}/commits` with `per_page` (default 30, max 100),
//!   `page` and a `Link` header (`next`, `last`, `first`, `prev`);
//! * raw URLs `/raw/{id}/{sha}/{file}`, served without authentication and
//!   outside the API rate limit, like gist.githubusercontent.com;
//! * `Authorization: Bearer <token>` or `token <token>`; a wrong token is
//!   401 "Bad credentials", writing without one is 401 "Requires
//!   authentication", an unknown gist or revision is 404 "Not Found";
//! * `X-RateLimit-Limit/Remaining/Used/Reset/Resource` on every API
//!   response; with the primary limit used up, 403 "API rate limit
//!   exceeded" until the reset time;
//! * GitHub's secondary limit on content-creating requests (PATCH, POST),
//!   when set with [`FakeGithub::set_secondary_limit`]: so many per sliding
//!   minute and hour, both windows of any length (tests scale them down);
//!   past it, 403 "You have exceeded a secondary rate limit" with
//!   `Retry-After`, and every request before that time is refused again
//!   and counted ([`FakeGithub::requests_while_limited`]);
//! * an `ETag` on every successful GET, and 304 Not Modified (not counted
//!   against the primary limit) for `If-None-Match` with the current one.
//!
//! ```no_run
//! use chronicle_gist_testkit::fake_github::{FakeGithub, Scripted};
//! let github = FakeGithub::start();
//! let gist = github.create_gist(&[("a.json", "{}")]);
//! github.script(Some("PATCH"), 2, Scripted::RateLimited { status: 429, retry_after: Some(1) });
//! // point the program at github.url() with token FakeGithub::TOKEN ...
//! assert_eq!(github.patch_count(&gist), 0);
//! ```

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime};

use serde::Serialize;
use serde_json::{json, Map, Value};
use tiny_http::{Header, Request, Response, Server};

use chronicle_gist::time::Timestamp;

const DOCS: &str = "https://docs.github.com/rest/gists/gists";

/// A failure (or delay) to serve instead of the normal answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scripted {
    /// Answer with this status and `{"message": message, ...}`.
    Status { status: u16, message: String },
    /// A secondary rate limit: 403 or 429 with an optional `Retry-After`.
    RateLimited {
        status: u16,
        retry_after: Option<u64>,
    },
    /// Wait this long, then answer normally (a slow request in flight).
    Delay(Duration),
}

/// One request as the fake received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedRequest {
    pub method: String,
    /// Path without the query string.
    pub path: String,
    pub query: String,
    pub authorization: Option<String>,
    pub body: String,
    /// When the request arrived.
    pub at: SystemTime,
    /// The status it was answered with.
    pub status: u16,
    /// Its `If-None-Match` header.
    pub if_none_match: Option<String>,
    /// It was refused by the secondary limit.
    pub secondary_limited: bool,
}

impl RecordedRequest {
    /// The gist id for `/gists/{id}...` paths.
    pub fn gist_id(&self) -> Option<&str> {
        self.path.strip_prefix("/gists/")?.split('/').next()
    }
}

/// A revision as stored by the fake (oldest first in [`FakeGithub::revisions`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeRevision {
    pub version: String,
    pub committed_at: Timestamp,
    pub files: BTreeMap<String, String>,
    pub additions: u64,
    pub deletions: u64,
}

/// A gist's files.
type Files = BTreeMap<Arc<str>, Arc<str>>;

/// What a revision changed: each file's new content, or `None` for a
/// deleted file.
type Changes = BTreeMap<Arc<str>, Option<Arc<str>>>;

/// A revision as the fake keeps it: only its changes, so that a gist with
/// many files and many revisions costs memory and time in proportion to
/// what changed.
struct StoredRevision {
    version: String,
    committed_at: Timestamp,
    changes: Changes,
    additions: u64,
    deletions: u64,
}

fn apply_changes(files: &mut Files, changes: &Changes) {
    for (name, content) in changes {
        match content {
            Some(content) => files.insert(Arc::clone(name), Arc::clone(content)),
            None => files.remove(name),
        };
    }
}

struct FakeGist {
    description: String,
    public: bool,
    created_at: Timestamp,
    /// Oldest first.
    revisions: Vec<StoredRevision>,
    /// The files at the last revision.
    head: Files,
}

impl FakeGist {
    fn new(description: String, public: bool) -> Self {
        FakeGist {
            description,
            public,
            created_at: Timestamp::now().truncate_to_secs(),
            revisions: Vec::new(),
            head: Files::new(),
        }
    }

    /// The files at revision `index` (rebuilt from the changes unless it is
    /// the last one).
    fn files_at(&self, index: usize) -> std::borrow::Cow<'_, Files> {
        if index + 1 == self.revisions.len() {
            return std::borrow::Cow::Borrowed(&self.head);
        }
        let mut files = Files::new();
        for revision in &self.revisions[..=index] {
            apply_changes(&mut files, &revision.changes);
        }
        std::borrow::Cow::Owned(files)
    }
}

struct ScriptEntry {
    method: Option<String>,
    remaining: usize,
    response: Scripted,
}

type Hook = Arc<Mutex<dyn FnMut(&RecordedRequest) + Send>>;

struct State {
    base_url: String,
    tokens: HashSet<String>,
    gists: BTreeMap<String, FakeGist>,
    next_gist: u64,
    max_file_size: usize,
    truncate_above: usize,
    max_listed_files: usize,
    rate_limit: u64,
    rate_remaining: u64,
    rate_reset: i64,
    rate_window: Duration,
    latency: Duration,
    script: VecDeque<ScriptEntry>,
    requests: Vec<RecordedRequest>,
    hook: Option<Hook>,
    secondary: Option<SecondaryLimit>,
    /// Content-creating requests let through, oldest first (the sliding
    /// windows of the secondary limit).
    writes: VecDeque<SystemTime>,
    /// Refused by the secondary limit until then.
    secondary_until: Option<SystemTime>,
    requests_while_limited: usize,
}

/// GitHub's secondary limit on content-creating requests: at most
/// `per_minute` in any sliding `minute` and `per_hour` in any sliding
/// `hour` (GitHub: 80 a minute, 500 an hour).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SecondaryLimit {
    pub per_minute: usize,
    pub per_hour: usize,
    pub minute: Duration,
    pub hour: Duration,
}

impl SecondaryLimit {
    /// GitHub's limits with the windows scaled by `scale` (1.0: a real
    /// minute and hour; 0.01: 0.6 s and 36 s).
    pub fn github_scaled(scale: f64) -> Self {
        SecondaryLimit {
            per_minute: 80,
            per_hour: 500,
            minute: Duration::from_secs_f64(60.0 * scale),
            hour: Duration::from_secs_f64(3600.0 * scale),
        }
    }
}

/// The running fake. Dropping it stops the server.
pub struct FakeGithub {
    url: String,
    state: Arc<Mutex<State>>,
    server: Arc<Server>,
    threads: Vec<JoinHandle<()>>,
}

impl FakeGithub {
    /// The token the fake accepts from the start.
    pub const TOKEN: &'static str = "fake-github-token";

    /// Starts a fake on an ephemeral port of 127.0.0.1 that answers one
    /// request at a time, like a strictly ordered server: tests can reason
    /// about the order requests arrive in.
    ///
    /// # Panics
    /// When no loopback port can be bound (a test environment problem).
    pub fn start() -> FakeGithub {
        Self::start_with_threads(1)
    }

    /// Starts a fake that answers up to `threads` requests at once (for
    /// benchmarks with several clients; scripted delays then only hold up
    /// their own request). Each request still sees and changes the gists
    /// atomically.
    ///
    /// # Panics
    /// When no loopback port can be bound (a test environment problem).
    pub fn start_with_threads(threads: usize) -> FakeGithub {
        let server = Arc::new(
            Server::from_listener(loopback_listener(), None)
                .expect("the fake GitHub needs a loopback port"),
        );
        let port = server
            .server_addr()
            .to_ip()
            .expect("the fake GitHub listens on IP")
            .port();
        let url = format!("http://127.0.0.1:{port}");
        let state = Arc::new(Mutex::new(State {
            base_url: url.clone(),
            tokens: HashSet::from([Self::TOKEN.to_string()]),
            gists: BTreeMap::new(),
            next_gist: 1,
            max_file_size: 10 * 1024 * 1024,
            truncate_above: 1024 * 1024,
            max_listed_files: 300,
            rate_limit: 5000,
            rate_remaining: 5000,
            rate_reset: Timestamp::now().unix_secs() + 3600,
            rate_window: Duration::from_secs(3600),
            latency: Duration::ZERO,
            script: VecDeque::new(),
            requests: Vec::new(),
            hook: None,
            secondary: None,
            writes: VecDeque::new(),
            secondary_until: None,
            requests_while_limited: 0,
        }));
        let threads = (0..threads.max(1))
            .map(|_| {
                let server = Arc::clone(&server);
                let state = Arc::clone(&state);
                std::thread::Builder::new()
                    .name("fake-github".into())
                    .spawn(move || {
                        for request in server.incoming_requests() {
                            handle(&state, request);
                        }
                    })
                    .expect("spawning a fake GitHub thread")
            })
            .collect();
        FakeGithub {
            url,
            state,
            server,
            threads,
        }
    }

    /// Base URL, to use as `--api-url` / `GITHUB_API_URL`.
    pub fn url(&self) -> &str {
        &self.url
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Accepts another token.
    pub fn add_token(&self, token: &str) {
        self.state().tokens.insert(token.into());
    }

    /// Largest file content a PATCH/POST may carry (GitHub: 10 MB).
    pub fn set_max_file_size(&self, bytes: usize) {
        self.state().max_file_size = bytes;
    }

    /// Content above this many bytes is truncated in API answers (GitHub: 1 MB).
    pub fn set_truncate_above(&self, bytes: usize) {
        self.state().truncate_above = bytes;
    }

    /// At most this many files are listed in a gist's answers, the first by
    /// name, and the gist's `truncated` is then true (GitHub: 300).
    pub fn set_max_listed_files(&self, files: usize) {
        self.state().max_listed_files = files;
    }

    /// Sets the primary rate limit: `remaining` requests until `reset_in`
    /// from now, then `limit` again for each following window of the same
    /// length.
    pub fn set_rate_limit(&self, limit: u64, remaining: u64, reset_in: Duration) {
        let mut state = self.state();
        state.rate_limit = limit;
        state.rate_remaining = remaining;
        state.rate_reset = Timestamp::now().unix_secs() + reset_in.as_secs().max(1) as i64;
        state.rate_window = reset_in.max(Duration::from_secs(1));
    }

    /// Every API request (not raw files) waits this long before it is
    /// answered, like a distant server; other requests are answered
    /// meanwhile when the fake has several threads.
    pub fn set_latency(&self, latency: Duration) {
        self.state().latency = latency;
    }

    /// Turns on the secondary limit on content-creating requests (`None`:
    /// off, the default).
    pub fn set_secondary_limit(&self, limit: Option<SecondaryLimit>) {
        self.state().secondary = limit;
    }

    /// Requests that arrived while the secondary limit's `Retry-After` was
    /// running (each refused again): GitHub bans integrations that do this.
    pub fn requests_while_limited(&self) -> usize {
        self.state().requests_while_limited
    }

    /// Secondary-limit refusals served so far.
    pub fn secondary_refusals(&self) -> usize {
        self.state()
            .requests
            .iter()
            .filter(|r| r.status == 403 && r.secondary_limited)
            .count()
    }

    /// The most content-creating requests (PATCH, POST) the fake let
    /// through in any `window` (ending at one of them).
    pub fn max_writes_in(&self, window: Duration) -> usize {
        let state = self.state();
        let times: Vec<SystemTime> = state.writes.iter().copied().collect();
        let mut best = 0;
        let mut start = 0;
        for end in 0..times.len() {
            while times[end].duration_since(times[start]).unwrap_or_default() >= window {
                start += 1;
            }
            best = best.max(end - start + 1);
        }
        best
    }

    /// The `X-RateLimit-Reset` the fake currently announces.
    pub fn rate_limit_reset(&self) -> i64 {
        self.state().rate_reset
    }

    /// Serves `response` to the next `count` requests with this method
    /// (any method for `None`) instead of answering them. Entries are used
    /// in the order they were scripted. Raw URLs are not affected.
    pub fn script(&self, method: Option<&str>, count: usize, response: Scripted) {
        self.state().script.push_back(ScriptEntry {
            method: method.map(str::to_ascii_uppercase),
            remaining: count,
            response,
        });
    }

    /// Like [`FakeGithub::script`] for one request, but served before the
    /// entries already scripted.
    pub fn script_first(&self, method: Option<&str>, response: Scripted) {
        self.state().script.push_front(ScriptEntry {
            method: method.map(str::to_ascii_uppercase),
            remaining: 1,
            response,
        });
    }

    /// Calls `hook` for every request as it arrives, before it is answered
    /// (e.g. to raise the exporter's stop flag while a PATCH is in flight).
    pub fn on_request(&self, hook: impl FnMut(&RecordedRequest) + Send + 'static) {
        self.state().hook = Some(Arc::new(Mutex::new(hook)));
    }

    /// Every request received so far, in order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.state().requests.clone()
    }

    /// PATCH requests received for a gist, whatever they were answered with.
    pub fn patch_count(&self, gist_id: &str) -> usize {
        self.requests()
            .iter()
            .filter(|r| r.method == "PATCH" && r.gist_id() == Some(gist_id))
            .count()
    }

    /// PATCH requests for a gist that were answered 200.
    pub fn successful_patches(&self, gist_id: &str) -> Vec<RecordedRequest> {
        self.requests()
            .into_iter()
            .filter(|r| r.method == "PATCH" && r.gist_id() == Some(gist_id) && r.status == 200)
            .collect()
    }

    /// Creates a gist with one revision (like `POST /gists`); returns its id.
    pub fn create_gist(&self, files: &[(&str, &str)]) -> String {
        let id = {
            let mut state = self.state();
            state.next_gist += 1;
            format!("{:032x}", 0xc4_0000_0000u64 + state.next_gist - 1)
        };
        self.create_gist_with_id(&id, files);
        id
    }

    /// Creates (or replaces) a gist with a chosen id, e.g. the id a
    /// database's `gist_targets` already names. `files` may be empty (GitHub
    /// never allows that, but a test against an existing target may need
    /// an empty gist to export into): its first revision then has no files.
    pub fn create_gist_with_id(&self, id: &str, files: &[(&str, &str)]) {
        let mut state = self.state();
        let changes: Changes = files
            .iter()
            .map(|(n, c)| (Arc::from(*n), Some(Arc::from(*c))))
            .collect();
        state
            .gists
            .insert(id.to_string(), FakeGist::new(String::new(), false));
        commit(&mut state, id, changes, true);
    }

    /// Adds a revision directly (no validation, no request recorded):
    /// `Some(content)` writes a file, `None` deletes it. Returns the new
    /// revision's sha.
    ///
    /// # Panics
    /// If the gist does not exist.
    pub fn commit(&self, gist_id: &str, changes: &[(&str, Option<&str>)]) -> String {
        let mut state = self.state();
        assert!(
            state.gists.contains_key(gist_id),
            "commit to an unknown fake gist"
        );
        let changes: Changes = changes
            .iter()
            .map(|(name, content)| (Arc::from(*name), content.map(Arc::from)))
            .collect();
        commit(&mut state, gist_id, changes, true).expect("a forced commit")
    }

    /// A gist's revisions, oldest first.
    pub fn revisions(&self, gist_id: &str) -> Vec<FakeRevision> {
        let state = self.state();
        let Some(gist) = state.gists.get(gist_id) else {
            return Vec::new();
        };
        let mut files = Files::new();
        gist.revisions
            .iter()
            .map(|revision| {
                apply_changes(&mut files, &revision.changes);
                FakeRevision {
                    version: revision.version.clone(),
                    committed_at: revision.committed_at,
                    files: files
                        .iter()
                        .map(|(name, content)| (name.to_string(), content.to_string()))
                        .collect(),
                    additions: revision.additions,
                    deletions: revision.deletions,
                }
            })
            .collect()
    }

    /// How many revisions a gist has (0 for an unknown gist); cheaper than
    /// [`FakeGithub::revisions`] for a large gist.
    pub fn revision_count(&self, gist_id: &str) -> usize {
        self.state()
            .gists
            .get(gist_id)
            .map_or(0, |g| g.revisions.len())
    }

    /// A file's current content.
    pub fn file(&self, gist_id: &str, file_name: &str) -> Option<String> {
        self.state()
            .gists
            .get(gist_id)?
            .head
            .get(file_name)
            .map(|content| content.to_string())
    }
}

/// A listener on an ephemeral loopback port with TCP_NODELAY, which
/// Linux passes on to accepted connections. tiny_http writes headers and
/// body separately; with Nagle's algorithm the body would wait for the
/// client's delayed ACK (~40 ms per request).
fn loopback_listener() -> std::net::TcpListener {
    use socket2::{Domain, Socket, Type};
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None).expect("creating a socket");
    socket.set_tcp_nodelay(true).expect("setting TCP_NODELAY");
    let address: std::net::SocketAddr = ([127, 0, 0, 1], 0).into();
    socket.bind(&address.into()).expect("binding 127.0.0.1:0");
    socket.listen(128).expect("listening");
    socket.into()
}

impl Drop for FakeGithub {
    fn drop(&mut self) {
        // Each unblock wakes one thread.
        for _ in &self.threads {
            self.server.unblock();
        }
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}

/// Makes a revision of what `changes` really change (a file set to the
/// content it has, or a deletion of a file the gist does not have, changes
/// nothing); returns its sha. Without a real change there is no revision
/// (`None`), unless `always`, or unless it is the gist's first.
fn commit(state: &mut State, gist_id: &str, changes: Changes, always: bool) -> Option<String> {
    let gist = state
        .gists
        .get_mut(gist_id)
        .expect("commit to an existing gist");
    let (mut additions, mut deletions) = (0, 0);
    let mut effective = Changes::new();
    let mut described = Map::new();
    for (name, change) in changes {
        let before = gist.head.get(&name);
        if before == change.as_ref() {
            continue;
        }
        let (a, d) = line_changes(before.map(|b| &**b), change.as_deref());
        additions += a;
        deletions += d;
        described.insert(
            name.to_string(),
            change
                .as_deref()
                .map_or(Value::Null, |c| Value::String(c.into())),
        );
        effective.insert(name, change);
    }
    if effective.is_empty() && !always && !gist.revisions.is_empty() {
        return None;
    }
    apply_changes(&mut gist.head, &effective);
    // GitHub reports commit times in whole seconds, and two quick commits
    // can share one; so does the fake.
    let committed_at = Timestamp::now().truncate_to_secs();
    let number = gist.revisions.len();
    let version = chronicle_json::checksum(&json!({
        "gist": gist_id, "n": number, "changes": described, "at": committed_at.to_rfc3339()
    }))[..40]
        .to_string();
    gist.revisions.push(StoredRevision {
        version: version.clone(),
        committed_at,
        changes: effective,
        additions,
        deletions,
    });
    Some(version)
}

/// Added and deleted lines between two versions of a file (multiset of lines).
fn line_changes(old: Option<&str>, new: Option<&str>) -> (u64, u64) {
    let mut counts: HashMap<&str, i64> = HashMap::new();
    for line in old.map(|s| s.lines()).into_iter().flatten() {
        *counts.entry(line).or_default() -= 1;
    }
    for line in new.map(|s| s.lines()).into_iter().flatten() {
        *counts.entry(line).or_default() += 1;
    }
    let added = counts.values().filter(|c| **c > 0).map(|c| *c as u64).sum();
    let deleted = counts
        .values()
        .filter(|c| **c < 0)
        .map(|c| c.unsigned_abs())
        .sum();
    (added, deleted)
}

/// An HTTP answer before it becomes a tiny_http response.
struct Answer {
    status: u16,
    body: String,
    content_type: &'static str,
    headers: Vec<(String, String)>,
    /// API answers carry rate-limit headers; raw file answers do not.
    api: bool,
    /// A refusal by the secondary limit.
    secondary_limited: bool,
}

impl Answer {
    fn secondary_limited(retry_after: Duration) -> Self {
        let mut answer = Answer::error(
            403,
            "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
        );
        answer.headers.push((
            "Retry-After".into(),
            retry_after.as_secs().max(1).to_string(),
        ));
        answer.secondary_limited = true;
        answer
    }

    fn serialized(status: u16, body: &impl Serialize) -> Self {
        Answer {
            status,
            body: serde_json::to_string(body).expect("answers always serialize"),
            content_type: "application/json; charset=utf-8",
            headers: Vec::new(),
            api: true,
            secondary_limited: false,
        }
    }

    fn json(status: u16, body: Value) -> Self {
        Answer {
            status,
            body: body.to_string(),
            content_type: "application/json; charset=utf-8",
            headers: Vec::new(),
            api: true,
            secondary_limited: false,
        }
    }

    fn error(status: u16, message: &str) -> Self {
        Answer::json(
            status,
            json!({"message": message, "documentation_url": DOCS, "status": status.to_string()}),
        )
    }

    fn validation(errors: Vec<Value>) -> Self {
        Answer::json(
            422,
            json!({
                "message": "Validation Failed",
                "errors": errors,
                "documentation_url": format!("{DOCS}#update-a-gist"),
                "status": "422"
            }),
        )
    }
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(|e| e.into_inner())
}

fn handle(shared: &Mutex<State>, mut request: Request) {
    let mut body = String::new();
    let _ = request.as_reader().read_to_string(&mut body);
    let (path, query) = match request.url().split_once('?') {
        Some((p, q)) => (p.to_string(), q.to_string()),
        None => (request.url().to_string(), String::new()),
    };
    let authorization = request
        .headers()
        .iter()
        .find(|h| h.field.equiv("Authorization"))
        .map(|h| h.value.as_str().to_string());
    let if_none_match = request
        .headers()
        .iter()
        .find(|h| h.field.equiv("If-None-Match"))
        .map(|h| h.value.as_str().to_string());
    let mut recorded = RecordedRequest {
        method: request.method().as_str().to_ascii_uppercase(),
        path,
        query,
        authorization,
        body,
        at: SystemTime::now(),
        status: 0,
        if_none_match,
        secondary_limited: false,
    };

    // The hook runs without the lock held, so it may call back into the fake.
    let hook = lock(shared).hook.clone();
    if let Some(hook) = hook {
        (hook.lock().unwrap_or_else(|e| e.into_inner()))(&recorded);
    }
    let delay = {
        let mut state = lock(shared);
        let latency = if recorded.path.starts_with("/raw/") {
            Duration::ZERO
        } else {
            state.latency
        };
        latency + scripted_delay(&mut state, &recorded).unwrap_or_default()
    };
    if !delay.is_zero() {
        std::thread::sleep(delay);
    }

    let answer = {
        let mut state = lock(shared);
        let mut answer = respond(&mut state, &recorded);
        if answer.api && recorded.method == "GET" && answer.status == 200 {
            let etag = format!(
                "\"{}\"",
                &chronicle_json::checksum_of_canonical(answer.body.as_bytes())[..32]
            );
            if recorded.if_none_match.as_deref() == Some(etag.as_str()) {
                // GitHub does not count a 304 against the primary limit.
                answer.status = 304;
                answer.body = String::new();
                state.rate_remaining = (state.rate_remaining + 1).min(state.rate_limit);
            }
            answer.headers.push(("ETag".into(), etag));
        }
        recorded.status = answer.status;
        recorded.secondary_limited = answer.secondary_limited;
        state.requests.push(recorded);
        if answer.api {
            let used = state.rate_limit.saturating_sub(state.rate_remaining);
            answer.headers.extend([
                ("X-RateLimit-Limit".into(), state.rate_limit.to_string()),
                (
                    "X-RateLimit-Remaining".into(),
                    state.rate_remaining.to_string(),
                ),
                ("X-RateLimit-Used".into(), used.to_string()),
                ("X-RateLimit-Reset".into(), state.rate_reset.to_string()),
                ("X-RateLimit-Resource".into(), "core".into()),
                (
                    "X-GitHub-Media-Type".into(),
                    "github.v3; format=json".into(),
                ),
            ]);
        }
        answer
    };
    let mut response = Response::from_string(answer.body).with_status_code(answer.status);
    let mut headers = answer.headers;
    headers.push(("Content-Type".into(), answer.content_type.into()));
    for (name, value) in headers {
        if let Ok(header) = Header::from_bytes(name.as_bytes(), value.as_bytes()) {
            response.add_header(header);
        }
    }
    let _ = request.respond(response);
}

/// Takes a scripted delay for this request, if one is first in line.
fn scripted_delay(state: &mut State, request: &RecordedRequest) -> Option<Duration> {
    if request.path.starts_with("/raw/") {
        return None;
    }
    let entry = state
        .script
        .iter_mut()
        .find(|e| e.method.as_deref().is_none_or(|m| m == request.method))?;
    let Scripted::Delay(delay) = entry.response else {
        return None;
    };
    entry.remaining -= 1;
    state.script.retain(|e| e.remaining > 0);
    Some(delay)
}

fn respond(state: &mut State, request: &RecordedRequest) -> Answer {
    if let Some(raw) = request.path.strip_prefix("/raw/") {
        return raw_file(state, raw);
    }

    // Authentication comes first on GitHub: a bad token is 401 whatever
    // else is wrong with the request.
    let token = request.authorization.as_deref().map(|value| {
        value
            .strip_prefix("Bearer ")
            .or_else(|| value.strip_prefix("token "))
            .unwrap_or(value)
            .trim()
            .to_string()
    });
    match &token {
        Some(token) if !state.tokens.contains(token) => {
            return Answer::error(401, "Bad credentials")
        }
        None if request.method != "GET" => return Answer::error(401, "Requires authentication"),
        _ => {}
    }

    // Scripted failures. The first entry for this method decides; a
    // delay was already served (and consumed) before the lock was taken.
    let index = state
        .script
        .iter()
        .position(|e| e.method.as_deref().is_none_or(|m| m == request.method));
    if let Some(index) = index {
        let response = state.script[index].response.clone();
        if !matches!(response, Scripted::Delay(_)) {
            state.script[index].remaining -= 1;
            state.script.retain(|e| e.remaining > 0);
        }
        match response {
            Scripted::Status { status, message } => return Answer::error(status, &message),
            Scripted::RateLimited {
                status,
                retry_after,
            } => {
                let mut answer = Answer::error(
                    status,
                    "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
                );
                if let Some(secs) = retry_after {
                    answer
                        .headers
                        .push(("Retry-After".into(), secs.to_string()));
                }
                return answer;
            }
            Scripted::Delay(_) => {}
        }
    }

    // The secondary limit: nothing at all while its Retry-After runs, and
    // content-creating requests within both sliding windows.
    let arrived = SystemTime::now();
    if let Some(until) = state.secondary_until {
        if arrived < until {
            state.requests_while_limited += 1;
            return Answer::secondary_limited(until.duration_since(arrived).unwrap_or_default());
        }
        state.secondary_until = None;
    }
    let content_creating = matches!(request.method.as_str(), "PATCH" | "POST");
    if let (Some(limit), true) = (state.secondary, content_creating) {
        let keep = limit.minute.max(limit.hour);
        while state
            .writes
            .front()
            .is_some_and(|at| arrived.duration_since(*at).unwrap_or_default() >= keep)
        {
            state.writes.pop_front();
        }
        let mut wait = Duration::ZERO;
        for (max, window) in [
            (limit.per_minute, limit.minute),
            (limit.per_hour, limit.hour),
        ] {
            let inside: Vec<SystemTime> = state
                .writes
                .iter()
                .copied()
                .filter(|at| arrived.duration_since(*at).unwrap_or_default() < window)
                .collect();
            let max = max.max(1);
            if inside.len() >= max {
                let leaving = inside[inside.len() - max];
                wait = wait.max(
                    (leaving + window)
                        .duration_since(arrived)
                        .unwrap_or_default(),
                );
            }
        }
        if !wait.is_zero() {
            // Retry-After is in whole seconds, rounded up.
            let wait = Duration::from_secs(wait.as_secs() + u64::from(wait.subsec_nanos() > 0));
            state.secondary_until = Some(arrived + wait);
            return Answer::secondary_limited(wait);
        }
    }
    if content_creating {
        state.writes.push_back(arrived);
    }

    // The primary rate limit: a window of `rate_limit` requests.
    let now = Timestamp::now().unix_secs();
    if now >= state.rate_reset {
        state.rate_remaining = state.rate_limit;
        state.rate_reset = now + state.rate_window.as_secs().max(1) as i64;
    }
    if state.rate_remaining == 0 {
        return Answer::error(
            403,
            "API rate limit exceeded for user ID 1. If you reach out to GitHub Support for help, please include the request ID.",
        );
    }
    state.rate_remaining -= 1;

    let segments: Vec<&str> = request.path.trim_matches('/').split('/').collect();
    match (request.method.as_str(), segments.as_slice()) {
        ("POST", ["gists"]) => create(state, &request.body),
        ("GET", ["gists", id]) => match state.gists.get(*id) {
            Some(gist) => gist_json(state, id, gist.revisions.len() - 1, false),
            None => Answer::error(404, "Not Found"),
        },
        ("PATCH", ["gists", id]) => update(state, id, &request.body),
        ("GET", ["gists", id, "commits"]) => commits(state, id, &request.query),
        ("GET", ["gists", id, sha]) => {
            let index = state
                .gists
                .get(*id)
                .and_then(|g| g.revisions.iter().position(|r| r.version == *sha));
            match index {
                Some(index) => gist_json(state, id, index, true),
                None => Answer::error(404, "Not Found"),
            }
        }
        _ => Answer::error(404, "Not Found"),
    }
}

fn raw_file(state: &State, raw: &str) -> Answer {
    let mut parts = raw.splitn(3, '/');
    let (Some(id), Some(sha), Some(name)) = (parts.next(), parts.next(), parts.next()) else {
        return Answer {
            api: false,
            ..Answer::error(404, "Not Found")
        };
    };
    let name = percent_decode(name);
    let content = state.gists.get(id).and_then(|gist| {
        let index = gist.revisions.iter().position(|r| r.version == sha)?;
        gist.files_at(index).get(name.as_str()).cloned()
    });
    match content {
        Some(content) => Answer {
            status: 200,
            body: content.to_string(),
            content_type: "text/plain; charset=utf-8",
            headers: Vec::new(),
            api: false,
            secondary_limited: false,
        },
        None => Answer {
            status: 404,
            body: "404: Not Found".into(),
            content_type: "text/plain; charset=utf-8",
            headers: Vec::new(),
            api: false,
            secondary_limited: false,
        },
    }
}

/// Validates a `files` object against the gist's current `files`; returns
/// the changes it asks for.
fn file_changes(
    state: &State,
    files: &Files,
    changes: &Map<String, Value>,
) -> Result<Changes, Answer> {
    let mut out = Changes::new();
    // A file's content as this request has left it so far.
    let current = |out: &Changes, name: &str| -> Option<Arc<str>> {
        match out.get(name) {
            Some(change) => change.clone(),
            None => files.get(name).cloned(),
        }
    };
    let invalid = |field: &str, code: &str, message: String| {
        Answer::validation(vec![json!({
            "resource": "Gist", "field": field, "code": code, "message": message
        })])
    };
    for (name, change) in changes {
        match change {
            Value::Null => {
                // Deleting a file the gist does not have changes nothing.
                out.insert(Arc::from(name.as_str()), None);
            }
            Value::Object(file) => {
                let new_name = match file.get("filename") {
                    Some(Value::String(n)) => n.clone(),
                    Some(Value::Null) | None => name.clone(),
                    Some(_) => {
                        return Err(invalid(
                            "files",
                            "invalid",
                            format!("{name}: filename must be a string"),
                        ))
                    }
                };
                for candidate in [name, &new_name] {
                    if candidate.contains('/') || candidate.trim().is_empty() {
                        return Err(invalid(
                            "files",
                            "invalid",
                            format!("file name '{candidate}' is invalid: it must not contain '/' or be blank"),
                        ));
                    }
                }
                let content = match file.get("content") {
                    Some(Value::String(c)) => c.clone(),
                    Some(Value::Null) | None => match current(&out, name) {
                        Some(existing) => existing.to_string(),
                        None => {
                            return Err(invalid(
                                "files",
                                "missing_field",
                                format!("{name}: content is required for a new file"),
                            ))
                        }
                    },
                    Some(_) => {
                        return Err(invalid(
                            "files",
                            "invalid",
                            format!("{name}: content must be a string"),
                        ))
                    }
                };
                if content.trim().is_empty() {
                    return Err(invalid(
                        "files",
                        "missing_field",
                        format!("{name}: content can't be blank"),
                    ));
                }
                if content.len() > state.max_file_size {
                    return Err(invalid(
                        "files",
                        "too_large",
                        format!(
                            "{new_name} is too large ({} bytes; the limit is {} bytes)",
                            content.len(),
                            state.max_file_size
                        ),
                    ));
                }
                if new_name != *name {
                    out.insert(Arc::from(name.as_str()), None);
                }
                out.insert(Arc::from(new_name), Some(Arc::from(content)));
            }
            _ => {
                return Err(invalid(
                    "files",
                    "invalid",
                    format!("{name}: must be an object or null"),
                ))
            }
        }
    }
    let mut remaining = files.len();
    for (name, change) in &out {
        match (files.contains_key(name), change.is_some()) {
            (false, true) => remaining += 1,
            (true, false) => remaining -= 1,
            _ => {}
        }
    }
    if remaining == 0 {
        return Err(invalid(
            "files",
            "missing_field",
            "a gist must contain at least one file".into(),
        ));
    }
    Ok(out)
}

fn parse_body(body: &str) -> Result<Map<String, Value>, Answer> {
    match serde_json::from_str::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(Answer::error(400, "Problems parsing JSON")),
    }
}

fn create(state: &mut State, body: &str) -> Answer {
    let body = match parse_body(body) {
        Ok(body) => body,
        Err(answer) => return answer,
    };
    let Some(Value::Object(changes)) = body.get("files") else {
        return Answer::validation(vec![
            json!({"resource": "Gist", "field": "files", "code": "missing_field"}),
        ]);
    };
    let changes = match file_changes(state, &Files::new(), changes) {
        Ok(changes) => changes,
        Err(answer) => return answer,
    };
    let id = format!("{:032x}", 0xc4_0000_0000u64 + state.next_gist);
    state.next_gist += 1;
    let description = body
        .get("description")
        .and_then(Value::as_str)
        .unwrap_or("")
        .into();
    let public = body.get("public").and_then(Value::as_bool).unwrap_or(false);
    state
        .gists
        .insert(id.clone(), FakeGist::new(description, public));
    commit(state, &id, changes, true);
    let index = state.gists[&id].revisions.len() - 1;
    let mut answer = gist_json(state, &id, index, false);
    answer.status = 201;
    answer
        .headers
        .push(("Location".into(), format!("{}/gists/{id}", state.base_url)));
    answer
}

fn update(state: &mut State, id: &str, body: &str) -> Answer {
    let Some(gist) = state.gists.get(id) else {
        return Answer::error(404, "Not Found");
    };
    let body = match parse_body(body) {
        Ok(body) => body,
        Err(answer) => return answer,
    };
    let changes = match body.get("files") {
        Some(Value::Object(changes)) => match file_changes(state, &gist.head, changes) {
            Ok(changes) => changes,
            Err(answer) => return answer,
        },
        None | Some(Value::Null) => Changes::new(),
        Some(_) => {
            return Answer::validation(vec![
                json!({"resource": "Gist", "field": "files", "code": "invalid"}),
            ])
        }
    };
    if let Some(Value::String(description)) = body.get("description") {
        if let Some(gist) = state.gists.get_mut(id) {
            gist.description = description.clone();
        }
    }
    // Only a change of content makes a new revision, as on GitHub.
    commit(state, id, changes, false);
    let index = state.gists[id].revisions.len() - 1;
    gist_json(state, id, index, false)
}

fn commits(state: &State, id: &str, query: &str) -> Answer {
    let Some(gist) = state.gists.get(id) else {
        return Answer::error(404, "Not Found");
    };
    let param = |key: &str| {
        query
            .split('&')
            .filter_map(|p| p.split_once('='))
            .find(|(k, _)| *k == key)
            .and_then(|(_, v)| v.parse::<usize>().ok())
    };
    let per_page = param("per_page").unwrap_or(30).clamp(1, 100);
    let page = param("page").unwrap_or(1).max(1);
    let items: Vec<HistoryJson<'_>> = gist
        .revisions
        .iter()
        .rev()
        .skip((page - 1) * per_page)
        .take(per_page)
        .map(|r| history_entry(state, id, r))
        .collect();
    let last = gist.revisions.len().div_ceil(per_page).max(1);
    let link = |p: usize, rel: &str| {
        format!(
            "<{}/gists/{id}/commits?per_page={per_page}&page={p}>; rel=\"{rel}\"",
            state.base_url
        )
    };
    let mut links = Vec::new();
    if page < last {
        links.push(link(page + 1, "next"));
        links.push(link(last, "last"));
    }
    if page > 1 {
        links.push(link(1, "first"));
        links.push(link(page - 1, "prev"));
    }
    let mut answer = Answer::serialized(200, &items);
    if !links.is_empty() {
        answer.headers.push(("Link".into(), links.join(", ")));
    }
    answer
}

// The answers are serialized from borrowing structs rather than built as
// `serde_json::Value`s: a gist with hundreds of files and revisions is
// answered on every PATCH, and the fake must stay cheap next to the program
// it serves in benchmarks.

#[derive(Serialize)]
struct OwnerJson {
    login: &'static str,
    id: u64,
    #[serde(rename = "type")]
    kind: &'static str,
    site_admin: bool,
}

const OWNER: OwnerJson = OwnerJson {
    login: "chronicle-fake",
    id: 1,
    kind: "User",
    site_admin: false,
};

#[derive(Serialize)]
struct ChangeStatusJson {
    total: u64,
    additions: u64,
    deletions: u64,
}

#[derive(Serialize)]
struct HistoryJson<'a> {
    user: &'static OwnerJson,
    version: &'a str,
    committed_at: String,
    change_status: ChangeStatusJson,
    url: String,
}

#[derive(Serialize)]
struct FileJson<'a> {
    filename: &'a str,
    #[serde(rename = "type")]
    kind: &'static str,
    language: &'static str,
    raw_url: String,
    size: usize,
    truncated: bool,
    content: &'a str,
}

#[derive(Serialize)]
struct GistJson<'a> {
    url: String,
    forks_url: String,
    commits_url: String,
    id: &'a str,
    node_id: String,
    git_pull_url: String,
    git_push_url: String,
    html_url: String,
    files: BTreeMap<&'a str, FileJson<'a>>,
    public: bool,
    created_at: String,
    updated_at: String,
    description: &'a str,
    comments: u64,
    user: Option<()>,
    comments_url: String,
    owner: &'static OwnerJson,
    forks: [(); 0],
    history: Vec<HistoryJson<'a>>,
    truncated: bool,
}

fn history_entry<'a>(state: &State, id: &str, revision: &'a StoredRevision) -> HistoryJson<'a> {
    HistoryJson {
        user: &OWNER,
        version: &revision.version,
        committed_at: revision.committed_at.to_rfc3339(),
        change_status: ChangeStatusJson {
            total: revision.additions + revision.deletions,
            additions: revision.additions,
            deletions: revision.deletions,
        },
        url: format!("{}/gists/{id}/{}", state.base_url, revision.version),
    }
}

/// The GitHub representation of gist `id` at revision `index`.
fn gist_json(state: &State, id: &str, index: usize, at_revision: bool) -> Answer {
    let gist = &state.gists[id];
    let revision = &gist.revisions[index];
    let all_files = gist.files_at(index);
    let base = &state.base_url;
    let mut files = BTreeMap::new();
    for (name, content) in all_files.iter().take(state.max_listed_files) {
        let (shown, truncated) = if content.len() > state.truncate_above {
            let mut end = state.truncate_above;
            while !content.is_char_boundary(end) {
                end -= 1;
            }
            (&content[..end], true)
        } else {
            (&content[..], false)
        };
        let (kind, language) = match name.rsplit_once('.').map(|(_, ext)| ext) {
            Some("json") => ("application/json", "JSON"),
            Some("md") => ("text/markdown", "Markdown"),
            _ => ("text/plain", "Text"),
        };
        files.insert(
            &**name,
            FileJson {
                filename: name,
                kind,
                language,
                raw_url: format!(
                    "{base}/raw/{id}/{}/{}",
                    revision.version,
                    percent_encode(name)
                ),
                size: content.len(),
                truncated,
                content: shown,
            },
        );
    }
    let url = if at_revision {
        format!("{base}/gists/{id}/{}", revision.version)
    } else {
        format!("{base}/gists/{id}")
    };
    Answer::serialized(
        200,
        &GistJson {
            url,
            forks_url: format!("{base}/gists/{id}/forks"),
            commits_url: format!("{base}/gists/{id}/commits"),
            id,
            node_id: format!("G_fake{id}"),
            git_pull_url: format!("{base}/{id}.git"),
            git_push_url: format!("{base}/{id}.git"),
            html_url: format!("{base}/html/{id}"),
            files,
            public: gist.public,
            created_at: gist.created_at.to_rfc3339(),
            updated_at: revision.committed_at.to_rfc3339(),
            description: &gist.description,
            comments: 0,
            user: None,
            comments_url: format!("{base}/gists/{id}/comments"),
            owner: &OWNER,
            forks: [],
            history: gist.revisions[..=index]
                .iter()
                .rev()
                .map(|r| history_entry(state, id, r))
                .collect(),
            truncated: all_files.len() > state.max_listed_files,
        },
    )
}

fn percent_encode(text: &str) -> String {
    chronicle_gist::github::encode_segment(text)
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let hex = |b: u8| (b as char).to_digit(16);
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let (Some(high), Some(low)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push((high * 16 + low) as u8);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
