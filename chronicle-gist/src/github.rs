//! A small blocking client for the parts of the GitHub Gist REST API that
//! chronicle-gist uses, with GitHub's rate-limit rules built in.
//!
//! The client never sleeps by itself in [`GithubClient::update_gist`]: the
//! exporter decides whether to hold a claimed row or give it back, so it
//! only *reports* rate limits ([`ApiError::RateLimited`],
//! [`GithubClient::blocked_for`]). Readers (import, verify) use
//! [`GithubClient::patiently`], which waits and retries.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::time::Timestamp;

/// Where the API lives unless `--api-url`/`GITHUB_API_URL` says otherwise.
pub const DEFAULT_API_URL: &str = "https://api.github.com";

/// The REST API version this client was written against.
const API_VERSION: &str = "2022-11-28";

/// When a secondary rate limit comes without `Retry-After` or a zero
/// `X-RateLimit-Remaining`, GitHub asks clients to wait at least a minute.
const DEFAULT_RATE_LIMIT_WAIT: Duration = Duration::from_secs(60);

/// Responses can be large (a revision with many 1 MB files, or a raw file
/// up to GitHub's 10 MB); ureq's default cap of 10 MB is too tight.
const MAX_RESPONSE_BYTES: u64 = 256 * 1024 * 1024;

/// One file of a gist as the API returns it.
#[derive(Debug, Clone, Deserialize)]
pub struct GistFile {
    pub filename: String,
    #[serde(default)]
    pub raw_url: Option<String>,
    #[serde(default)]
    pub size: Option<u64>,
    /// GitHub returns at most 1 MB of `content` per file; the rest is only
    /// at `raw_url`.
    #[serde(default)]
    pub truncated: bool,
    #[serde(default)]
    pub content: Option<String>,
}

/// One revision in a gist's `history` or in `GET /gists/{id}/commits`.
#[derive(Debug, Clone, Deserialize)]
pub struct GistRevision {
    pub version: String,
    pub committed_at: String,
}

/// A gist (head or a given revision), reduced to what we use.
#[derive(Debug, Clone, Deserialize)]
pub struct Gist {
    pub id: String,
    #[serde(default)]
    pub files: BTreeMap<String, GistFile>,
    /// Newest first; `history[0]` is the revision this response describes
    /// (for a PATCH: the revision it created, or the unchanged head).
    #[serde(default)]
    pub history: Vec<GistRevision>,
    #[serde(default)]
    pub updated_at: Option<String>,
    /// True when the gist has more than 300 files and the list was cut.
    #[serde(default)]
    pub truncated: bool,
}

/// The part of a `PATCH /gists/{id}` answer the exporter needs.
#[derive(Deserialize)]
struct PatchAnswer {
    #[serde(default, deserialize_with = "first_version")]
    history: Option<String>,
}

/// `version` of the first element of a list of revisions; the others are
/// skipped without being stored.
fn first_version<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<String>, D::Error> {
    struct First;
    impl<'de> serde::de::Visitor<'de> for First {
        type Value = Option<String>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a list of revisions")
        }
        fn visit_seq<A: serde::de::SeqAccess<'de>>(
            self,
            mut seq: A,
        ) -> Result<Self::Value, A::Error> {
            #[derive(Deserialize)]
            struct Version {
                version: String,
            }
            let first = seq.next_element::<Version>()?.map(|v| v.version);
            while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
            Ok(first)
        }
    }
    deserializer.deserialize_seq(First)
}

/// One file change in a `PATCH /gists/{id}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileChange {
    /// Create or replace the file with this content.
    Write { file_name: String, content: String },
    /// Delete the file (sent as `"name": null`).
    Remove { file_name: String },
}

impl FileChange {
    pub fn file_name(&self) -> &str {
        match self {
            FileChange::Write { file_name, .. } | FileChange::Remove { file_name } => file_name,
        }
    }
}

/// Why a request failed. `Display` gives a message fit for an operator and
/// for `export_fail`'s `error` column: it carries GitHub's own `message`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiError {
    /// 401: the token is missing, expired or wrong. Every request will fail.
    Unauthorized { message: String },
    /// 404: no such gist, or the token cannot see it.
    NotFound { message: String },
    /// 422: GitHub refused the content (file too large, invalid name, ...).
    Validation { message: String },
    /// 403/429 because of a primary or secondary rate limit; `wait` is how
    /// long GitHub asks us to send nothing. `secondary`: GitHub's secondary
    /// (abuse) limit rather than the hourly request quota; `retry_after`:
    /// its `Retry-After` header, when it sent one.
    RateLimited {
        wait: Duration,
        message: String,
        secondary: bool,
        retry_after: Option<Duration>,
    },
    /// Any other unsuccessful status (403 forbidden, 409, 5xx, ...).
    Http { status: u16, message: String },
    /// The request did not get an HTTP answer (DNS, connection, timeout).
    Transport(String),
    /// A 2xx answer whose body is not what the API documents.
    InvalidResponse(String),
}

impl ApiError {
    /// Worth retrying the same request later (as opposed to a request that
    /// GitHub will keep refusing).
    pub fn is_transient(&self) -> bool {
        match self {
            ApiError::RateLimited { .. } | ApiError::Transport(_) => true,
            ApiError::Http { status, .. } => *status >= 500,
            _ => false,
        }
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ApiError::Unauthorized { message } => write!(
                f,
                "GitHub rejected the token (401 {message}); check GITHUB_TOKEN"
            ),
            ApiError::NotFound { message } => write!(
                f,
                "GitHub API 404 {message}: unknown gist, or the token cannot access it"
            ),
            ApiError::Validation { message } => write!(f, "GitHub API 422 {message}"),
            ApiError::RateLimited {
                wait,
                message,
                secondary,
                ..
            } => write!(
                f,
                "GitHub {}rate limit: {message} (retry in {}s)",
                if *secondary { "secondary " } else { "" },
                wait.as_secs_f64().ceil()
            ),
            ApiError::Http { status, message } => write!(f, "GitHub API {status} {message}"),
            ApiError::Transport(message) => write!(f, "cannot reach the GitHub API: {message}"),
            ApiError::InvalidResponse(message) => {
                write!(f, "unexpected answer from the GitHub API: {message}")
            }
        }
    }
}

impl std::error::Error for ApiError {}

/// The parts of a response the client looks at.
struct RawResponse {
    status: u16,
    retry_after: Option<String>,
    remaining: Option<String>,
    reset: Option<String>,
    link: Option<String>,
    body: String,
}

/// Blocking GitHub client. Cheap to share by reference; it is `Sync`.
pub struct GithubClient {
    agent: ureq::Agent,
    api_url: String,
    token: Option<String>,
    /// Added to `X-RateLimit-Reset` before sending again, against clock
    /// skew between us and GitHub (the reset is in whole seconds).
    reset_margin: Duration,
    /// No request may be sent before this instant (rate limits).
    blocked_until: Mutex<Option<SystemTime>>,
    /// ETags and bodies of earlier GETs, for conditional requests.
    etag_cache: Option<EtagCache>,
}

impl GithubClient {
    /// A client for `api_url` (no trailing slash needed) that authenticates
    /// with `token` when given.
    pub fn new(api_url: &str, token: Option<String>) -> Self {
        let config = ureq::Agent::config_builder()
            // We read error bodies ourselves: GitHub's `message` is the point.
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(120)))
            .timeout_connect(Some(Duration::from_secs(15)))
            .user_agent(concat!("chronicle-gist/", env!("CARGO_PKG_VERSION")))
            .accept("application/vnd.github+json")
            .build();
        GithubClient {
            agent: config.into(),
            api_url: api_url.trim_end_matches('/').to_string(),
            token: token.filter(|t| !t.is_empty()),
            reset_margin: Duration::from_secs(1),
            blocked_until: Mutex::new(None),
            etag_cache: None,
        }
    }

    /// Keeps the ETag and body of each GET of the API under `dir` (in a
    /// folder of the token's own), and sends `If-None-Match` with them:
    /// GitHub answers an unchanged resource with 304, which does not count
    /// against the primary rate limit.
    pub fn with_etag_cache(mut self, dir: &std::path::Path) -> Self {
        let owner = chronicle_json::checksum_of_canonical(
            self.token.as_deref().unwrap_or("(no token)").as_bytes(),
        );
        self.etag_cache = Some(EtagCache {
            dir: dir.join(&owner[..16]),
        });
        self
    }

    /// Sets the safety margin added to `X-RateLimit-Reset` (default 1 s).
    pub fn with_reset_margin(mut self, margin: Duration) -> Self {
        self.reset_margin = margin;
        self
    }

    pub fn api_url(&self) -> &str {
        &self.api_url
    }

    pub fn has_token(&self) -> bool {
        self.token.is_some()
    }

    /// How long GitHub asked us to stay quiet, if that time has not passed.
    pub fn blocked_for(&self) -> Option<Duration> {
        let until = (*lock(&self.blocked_until))?;
        until
            .duration_since(SystemTime::now())
            .ok()
            .filter(|d| !d.is_zero())
    }

    /// Sends nothing for `wait` from now (a pause decided elsewhere, e.g.
    /// a secondary limit another exporter of the database was answered).
    pub fn block_for(&self, wait: Duration) {
        let until = SystemTime::now() + wait;
        let mut blocked = lock(&self.blocked_until);
        *blocked = (*blocked).max(Some(until));
    }

    /// `PATCH /gists/{id}` with the given file changes; returns the
    /// revision the gist is at afterwards (`history[0].version` of GitHub's
    /// answer): the one the PATCH created, or the unchanged head when it
    /// changed nothing.
    pub fn update_gist(&self, gist_id: &str, changes: &[FileChange]) -> Result<String, ApiError> {
        let mut files = Map::new();
        for change in changes {
            let value = match change {
                FileChange::Write { content, .. } => {
                    let mut file = Map::new();
                    file.insert("content".into(), Value::String(content.clone()));
                    Value::Object(file)
                }
                FileChange::Remove { .. } => Value::Null,
            };
            files.insert(change.file_name().to_string(), value);
        }
        let mut body = Map::new();
        body.insert("files".into(), Value::Object(files));
        let body = Value::Object(body).to_string();
        let url = format!("{}/gists/{}", self.api_url, encode_segment(gist_id));
        let names: Vec<&str> = changes.iter().map(FileChange::file_name).collect();
        let response = self.send("PATCH", &url, Some(body), true, &names)?;
        // The answer is the whole gist (up to 300 files with their content,
        // and the whole history); only the newest revision is kept.
        let answer: PatchAnswer = parse_json(&response.body)?;
        answer
            .history
            .ok_or_else(|| ApiError::InvalidResponse("PATCH response has an empty history".into()))
    }

    /// `GET /gists/{id}`: the gist's current files.
    pub fn get_gist(&self, gist_id: &str) -> Result<Gist, ApiError> {
        let url = format!("{}/gists/{}", self.api_url, encode_segment(gist_id));
        parse_json(&self.send("GET", &url, None, true, &[])?.body)
    }

    /// `GET /gists/{id}/{sha}`: the gist as it was at one revision.
    pub fn get_gist_revision(&self, gist_id: &str, sha: &str) -> Result<Gist, ApiError> {
        let url = format!(
            "{}/gists/{}/{}",
            self.api_url,
            encode_segment(gist_id),
            encode_segment(sha)
        );
        parse_json(&self.send("GET", &url, None, true, &[])?.body)
    }

    /// One page of `GET /gists/{id}/commits`; a page URL from a previous
    /// call's `Link: rel="next"` can be passed as `page_url`.
    pub fn list_commits_page(
        &self,
        gist_id: &str,
        page_url: Option<&str>,
    ) -> Result<(Vec<GistRevision>, Option<String>), ApiError> {
        let url = match page_url {
            Some(url) => url.to_string(),
            None => format!(
                "{}/gists/{}/commits?per_page=100",
                self.api_url,
                encode_segment(gist_id)
            ),
        };
        let response = self.send("GET", &url, None, true, &[])?;
        let next = response.link.as_deref().and_then(next_link);
        Ok((parse_json(&response.body)?, next))
    }

    /// The whole revision history of a gist, newest first as GitHub lists it.
    pub fn list_commits(&self, gist_id: &str) -> Result<Vec<GistRevision>, ApiError> {
        let mut all = Vec::new();
        let mut page_url: Option<String> = None;
        // The bound only protects against a server whose `next` never ends.
        for _ in 0..100_000 {
            let (page, next) =
                self.patiently(None, |c| c.list_commits_page(gist_id, page_url.as_deref()))?;
            all.extend(page);
            match next {
                Some(next) => page_url = Some(next),
                None => return Ok(all),
            }
        }
        Err(ApiError::InvalidResponse(
            "commit list pagination does not end".into(),
        ))
    }

    /// The complete content of a file: the inline `content`, or, when
    /// GitHub truncated it (or left it out), the body of its `raw_url`.
    pub fn file_content(&self, file: &GistFile) -> Result<String, ApiError> {
        match (&file.content, file.truncated) {
            (Some(content), false) => Ok(content.clone()),
            _ => {
                let raw_url = file.raw_url.as_deref().ok_or_else(|| {
                    ApiError::InvalidResponse(format!(
                        "{} is truncated and has no raw_url",
                        file.filename
                    ))
                })?;
                // Raw URLs live on another host on github.com
                // (gist.githubusercontent.com); only send the token to the
                // API's own origin.
                let same_origin = origin(raw_url) == origin(&self.api_url);
                Ok(self.send("GET", raw_url, None, same_origin, &[])?.body)
            }
        }
    }

    /// Runs `request`, waiting out rate limits and retrying transient
    /// failures a few times. For readers (import, verify), which hold no
    /// leases and can simply wait. Returns early with the last error when
    /// `stop` is set.
    pub fn patiently<T>(
        &self,
        stop: Option<&AtomicBool>,
        mut request: impl FnMut(&Self) -> Result<T, ApiError>,
    ) -> Result<T, ApiError> {
        const ATTEMPTS: u32 = 6;
        let mut attempt = 0;
        loop {
            if let Some(wait) = self.blocked_for() {
                tracing::warn!("GitHub rate limit: waiting {}s", wait.as_secs_f64().ceil());
                sleep_unless_stopped(wait, stop);
            }
            attempt += 1;
            match request(self) {
                Err(e) if e.is_transient() && attempt < ATTEMPTS => {
                    if stop.is_some_and(|s| s.load(Ordering::SeqCst)) {
                        return Err(e);
                    }
                    if !matches!(e, ApiError::RateLimited { .. }) {
                        // 1 s, 2 s, 4 s, ...: a 5xx or a dropped connection
                        // is usually gone in a moment.
                        let backoff = Duration::from_secs(1 << (attempt - 1).min(5));
                        tracing::warn!("{e}; retrying in {}s", backoff.as_secs());
                        sleep_unless_stopped(backoff, stop);
                    }
                }
                other => return other,
            }
        }
    }

    /// One request. `files` names the gist files a PATCH changes, for the
    /// log line every request gets. A GET of the API with a token goes
    /// through the ETag cache, when there is one: `If-None-Match` with the
    /// ETag last seen, and a 304 answered with the body stored with it.
    fn send(
        &self,
        method: &str,
        url: &str,
        body: Option<String>,
        authenticate: bool,
        files: &[&str],
    ) -> Result<RawResponse, ApiError> {
        let started = std::time::Instant::now();
        let mut request = ureq::http::Request::builder()
            .method(method)
            .uri(url)
            .header("X-GitHub-Api-Version", API_VERSION);
        if authenticate {
            if let Some(token) = &self.token {
                request = request.header("Authorization", format!("Bearer {token}"));
            }
        }
        let cached = match &self.etag_cache {
            Some(cache) if method == "GET" && authenticate && url.contains("/gists/") => {
                cache.get(url)
            }
            _ => None,
        };
        if let Some((etag, _)) = &cached {
            request = request.header("If-None-Match", etag.as_str());
        }
        let invalid =
            |e: ureq::http::Error| ApiError::Transport(format!("invalid request {url}: {e}"));
        let result = match body {
            Some(body) => self.agent.run(
                request
                    .header("Content-Type", "application/json")
                    .body(body)
                    .map_err(invalid)?,
            ),
            None => self.agent.run(request.body(()).map_err(invalid)?),
        };
        let mut response = result.map_err(|e| ApiError::Transport(e.to_string()))?;
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let etag = header("etag");
        let mut raw = RawResponse {
            status: response.status().as_u16(),
            retry_after: header("retry-after"),
            remaining: header("x-ratelimit-remaining"),
            reset: header("x-ratelimit-reset"),
            link: header("link"),
            body: response
                .body_mut()
                .with_config()
                .limit(MAX_RESPONSE_BYTES)
                .read_to_string()
                .map_err(|e| ApiError::Transport(format!("reading the response: {e}")))?,
        };
        log_request(method, url, files, &raw, started.elapsed());
        self.note_rate_limit(&raw);
        if let Some(cache) = &self.etag_cache {
            match (raw.status, cached, etag) {
                (304, Some((_, body)), _) => {
                    raw.status = 200;
                    raw.body = body;
                }
                (200, _, Some(etag)) if method == "GET" && authenticate => {
                    cache.put(url, &etag, &raw.body)
                }
                _ => {}
            }
        }
        match raw.status {
            200..=299 => Ok(raw),
            status => Err(self.classify_error(status, &raw)),
        }
    }

    /// Remembers how long to stay quiet: after the primary limit is used
    /// up (even on a successful response: the next request would fail) and
    /// after any rate-limit refusal.
    fn note_rate_limit(&self, raw: &RawResponse) {
        let mut until = None;
        if raw.remaining.as_deref().map(str::trim) == Some("0") {
            until = raw
                .reset
                .as_deref()
                .and_then(|r| r.trim().parse::<i64>().ok())
                .map(|reset| Timestamp::from_unix_secs(reset).to_system_time() + self.reset_margin);
        }
        if is_rate_limited(raw) {
            let wait = rate_limit_wait(raw, self.reset_margin);
            until = until.max(Some(SystemTime::now() + wait));
        }
        if let Some(until) = until {
            let mut blocked = lock(&self.blocked_until);
            *blocked = (*blocked).max(Some(until));
        }
    }

    fn classify_error(&self, status: u16, raw: &RawResponse) -> ApiError {
        let message = api_message(&raw.body, status);
        if is_rate_limited(raw) {
            return ApiError::RateLimited {
                wait: rate_limit_wait(raw, self.reset_margin),
                secondary: is_secondary_limit(raw),
                retry_after: retry_after(raw),
                message,
            };
        }
        match status {
            401 => ApiError::Unauthorized { message },
            404 => ApiError::NotFound { message },
            422 => ApiError::Validation { message },
            _ => ApiError::Http { status, message },
        }
    }
}

/// ETags and bodies of earlier answers, one file per URL: the ETag on the
/// first line, the body after it. A file that cannot be read or written is
/// simply not used: the cache only saves requests.
struct EtagCache {
    dir: std::path::PathBuf,
}

impl EtagCache {
    fn path(&self, url: &str) -> std::path::PathBuf {
        self.dir
            .join(chronicle_json::checksum_of_canonical(url.as_bytes()))
    }

    fn get(&self, url: &str) -> Option<(String, String)> {
        let text = std::fs::read_to_string(self.path(url)).ok()?;
        let (etag, body) = text.split_once('\n')?;
        Some((etag.to_string(), body.to_string()))
    }

    fn put(&self, url: &str, etag: &str, body: &str) {
        if etag.contains('\n') {
            return;
        }
        let path = self.path(url);
        let temporary = path.with_extension(format!("tmp{}", std::process::id()));
        let written = std::fs::create_dir_all(&self.dir)
            .and_then(|()| std::fs::write(&temporary, format!("{etag}\n{body}")))
            .and_then(|()| std::fs::rename(&temporary, &path));
        if let Err(e) = written {
            let _ = std::fs::remove_file(&temporary);
            tracing::warn!(
                "cannot keep the ETag of {url} in {}: {e}",
                self.dir.display()
            );
        }
    }
}

/// The line every request gets: method, path, gist, files, status, and what
/// GitHub's rate-limit headers say is left.
fn log_request(method: &str, url: &str, files: &[&str], raw: &RawResponse, elapsed: Duration) {
    let path = url
        .split_once("://")
        .and_then(|(_, rest)| rest.find('/').map(|i| &rest[i..]))
        .unwrap_or(url);
    let gist = path
        .strip_prefix("/gists/")
        .or_else(|| path.split_once("/gists/").map(|(_, rest)| rest))
        .and_then(|rest| rest.split(['/', '?']).next())
        .unwrap_or("");
    let files = files.join(",");
    let remaining = raw.remaining.as_deref().unwrap_or("");
    let reset = raw.reset.as_deref().unwrap_or("");
    tracing::info!(
        target: "chronicle_gist::http",
        method,
        path,
        gist,
        files = files.as_str(),
        status = raw.status,
        rate_limit_remaining = remaining,
        rate_limit_reset = reset,
        elapsed_ms = elapsed.as_millis() as u64,
        "{method} {path} {}",
        raw.status
    );
}

/// GitHub's rules (docs "Rate limits for the REST API"): 429 is always a
/// rate limit; 403 is one when it says so (`Retry-After`, a zero
/// remaining count, or "rate limit" in the message).
fn is_rate_limited(raw: &RawResponse) -> bool {
    match raw.status {
        429 => true,
        403 => {
            raw.retry_after.is_some()
                || raw.remaining.as_deref().map(str::trim) == Some("0")
                || raw.body.to_ascii_lowercase().contains("rate limit")
        }
        _ => false,
    }
}

/// A rate-limit refusal that is GitHub's secondary limit: its message says
/// so, or the hourly quota is not what ran out (`X-RateLimit-Remaining` is
/// not 0). GitHub documents both shapes.
fn is_secondary_limit(raw: &RawResponse) -> bool {
    raw.body
        .to_ascii_lowercase()
        .contains("secondary rate limit")
        || raw.remaining.as_deref().map(str::trim) != Some("0")
}

/// `Retry-After` in seconds (GitHub sends whole seconds; an HTTP date is
/// not used by its API), at most a day.
fn retry_after(raw: &RawResponse) -> Option<Duration> {
    raw.retry_after
        .as_deref()
        .and_then(|r| r.trim().parse::<u64>().ok())
        .map(|secs| Duration::from_secs(secs.min(86_400)))
}

/// How long to wait after a rate-limit refusal: `Retry-After` if present;
/// else until `X-RateLimit-Reset` when nothing remains; else one minute.
fn rate_limit_wait(raw: &RawResponse, reset_margin: Duration) -> Duration {
    if let Some(wait) = retry_after(raw) {
        return wait;
    }
    if raw.remaining.as_deref().map(str::trim) == Some("0") {
        if let Some(reset) = raw
            .reset
            .as_deref()
            .and_then(|r| r.trim().parse::<i64>().ok())
        {
            let until = Timestamp::from_unix_secs(reset).to_system_time() + reset_margin;
            return until
                .duration_since(SystemTime::now())
                .unwrap_or(Duration::ZERO);
        }
    }
    DEFAULT_RATE_LIMIT_WAIT
}

/// GitHub's error text: `message`, plus the details of a 422's `errors`.
fn api_message(body: &str, status: u16) -> String {
    let Ok(Value::Object(error)) = serde_json::from_str::<Value>(body) else {
        let text = body.trim();
        return if text.is_empty() {
            format!("(status {status}, empty body)")
        } else {
            text.chars().take(300).collect()
        };
    };
    let mut message = error
        .get("message")
        .and_then(Value::as_str)
        .unwrap_or("(no message)")
        .to_string();
    if let Some(Value::Array(errors)) = error.get("errors") {
        let details: Vec<String> = errors
            .iter()
            .map(|e| match e {
                Value::String(s) => s.clone(),
                Value::Object(o) => {
                    let field = o.get("field").and_then(Value::as_str);
                    let text = o
                        .get("message")
                        .and_then(Value::as_str)
                        .or_else(|| o.get("code").and_then(Value::as_str))
                        .unwrap_or("invalid");
                    match field {
                        Some(field) => format!("{field}: {text}"),
                        None => text.to_string(),
                    }
                }
                other => other.to_string(),
            })
            .collect();
        if !details.is_empty() {
            message = format!("{message}: {}", details.join("; "));
        }
    }
    message
}

fn parse_json<T: serde::de::DeserializeOwned>(body: &str) -> Result<T, ApiError> {
    serde_json::from_str(body).map_err(|e| ApiError::InvalidResponse(e.to_string()))
}

/// The `rel="next"` target of an RFC 8288 `Link` header, as GitHub sends
/// for pagination: `<https://...&page=2>; rel="next", <...>; rel="last"`.
pub fn next_link(header: &str) -> Option<String> {
    header.split(',').find_map(|part| {
        let (target, params) = part.split_once(';')?;
        let is_next = params
            .split(';')
            .any(|p| matches!(p.trim(), "rel=\"next\"" | "rel=next"));
        let target = target.trim().strip_prefix('<')?.strip_suffix('>')?;
        is_next.then(|| target.to_string())
    })
}

/// `scheme://host[:port]` of a URL (lowercased), for same-origin checks.
fn origin(url: &str) -> String {
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    let end = url[after_scheme..]
        .find(['/', '?', '#'])
        .map_or(url.len(), |i| after_scheme + i);
    url[..end].to_ascii_lowercase()
}

/// Percent-encodes one URL path segment (gist ids and shas are plain hex,
/// but nothing stops a typo from containing `/` or `?`).
pub fn encode_segment(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for byte in segment.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// Sleeps for `duration`, waking early (within 100 ms) once `stop` is set.
pub fn sleep_unless_stopped(duration: Duration, stop: Option<&AtomicBool>) {
    let deadline = std::time::Instant::now() + duration;
    loop {
        if stop.is_some_and(|s| s.load(Ordering::SeqCst)) {
            return;
        }
        let now = std::time::Instant::now();
        if now >= deadline {
            return;
        }
        std::thread::sleep((deadline - now).min(Duration::from_millis(100)));
    }
}

/// Locks a mutex, ignoring poisoning: the data it guards (an instant) is
/// valid whatever a panicking thread was doing.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(status: u16, body: &str) -> RawResponse {
        RawResponse {
            status,
            retry_after: None,
            remaining: None,
            reset: None,
            link: None,
            body: body.into(),
        }
    }

    #[test]
    fn parses_link_headers() {
        let header = "<https://api.github.com/gists/1/commits?per_page=100&page=2>; rel=\"next\", \
                      <https://api.github.com/gists/1/commits?per_page=100&page=5>; rel=\"last\"";
        assert_eq!(
            next_link(header).as_deref(),
            Some("https://api.github.com/gists/1/commits?per_page=100&page=2")
        );
        assert_eq!(
            next_link("<https://x/?page=1>; rel=\"prev\", <https://x/?page=1>; rel=\"first\""),
            None
        );
    }

    #[test]
    fn classifies_rate_limits_like_github_documents() {
        let client = GithubClient::new("http://127.0.0.1:9", None);
        let mut r = raw(429, r#"{"message":"slow down"}"#);
        r.retry_after = Some("7".into());
        assert_eq!(
            client.classify_error(429, &r),
            ApiError::RateLimited {
                wait: Duration::from_secs(7),
                message: "slow down".into(),
                secondary: true,
                retry_after: Some(Duration::from_secs(7)),
            }
        );
        // 403 without any rate-limit sign is a plain refusal.
        let r = raw(
            403,
            r#"{"message":"Resource not accessible by integration"}"#,
        );
        assert!(matches!(
            client.classify_error(403, &r),
            ApiError::Http { status: 403, .. }
        ));
        // 403 with "rate limit" in the message but no headers: one minute.
        let r = raw(
            403,
            r#"{"message":"You have exceeded a secondary rate limit."}"#,
        );
        assert!(matches!(
            client.classify_error(403, &r),
            ApiError::RateLimited { wait, .. } if wait == DEFAULT_RATE_LIMIT_WAIT
        ));
    }

    #[test]
    fn tells_the_secondary_limit_from_the_primary_one() {
        let client = GithubClient::new("http://127.0.0.1:9", None);
        let mut primary = raw(
            403,
            r#"{"message":"API rate limit exceeded for user ID 1."}"#,
        );
        primary.remaining = Some("0".into());
        primary.reset = Some("1".into());
        assert!(matches!(
            client.classify_error(403, &primary),
            ApiError::RateLimited {
                secondary: false,
                retry_after: None,
                ..
            }
        ));
        // The message says so, whatever the headers.
        let mut secondary = raw(
            403,
            r#"{"message":"You have exceeded a secondary rate limit. Please wait a few minutes before you try again."}"#,
        );
        secondary.remaining = Some("0".into());
        assert!(matches!(
            client.classify_error(403, &secondary),
            ApiError::RateLimited {
                secondary: true,
                ..
            }
        ));
        // A 429 with quota left is the secondary limit; Retry-After is kept,
        // capped at a day.
        let mut too_many = raw(429, r#"{"message":"slow down"}"#);
        too_many.remaining = Some("4000".into());
        too_many.retry_after = Some("999999".into());
        assert_eq!(
            client.classify_error(429, &too_many),
            ApiError::RateLimited {
                wait: Duration::from_secs(86_400),
                message: "slow down".into(),
                secondary: true,
                retry_after: Some(Duration::from_secs(86_400)),
            }
        );
    }

    #[test]
    fn formats_validation_errors_with_details() {
        let body = r#"{"message":"Validation Failed","errors":[{"resource":"Gist","code":"too_large","field":"files","message":"a.json is too large"}],"documentation_url":"x"}"#;
        assert_eq!(
            api_message(body, 422),
            "Validation Failed: files: a.json is too large"
        );
        assert_eq!(api_message("", 502), "(status 502, empty body)");
    }

    #[test]
    fn a_patch_answer_yields_its_newest_revision() {
        let answer: PatchAnswer = parse_json(
            r#"{"id": "g", "files": {"a.json": {"content": "{}"}},
                "history": [{"version": "new", "committed_at": "2024-01-01T00:00:01Z", "user": {}},
                            {"version": "old", "committed_at": "2024-01-01T00:00:00Z"}]}"#,
        )
        .unwrap();
        assert_eq!(answer.history.as_deref(), Some("new"));
        let empty: PatchAnswer = parse_json(r#"{"history": []}"#).unwrap();
        assert_eq!(empty.history, None);
        let missing: PatchAnswer = parse_json(r#"{"id": "g"}"#).unwrap();
        assert_eq!(missing.history, None);
        assert!(parse_json::<PatchAnswer>(r#"{"history": [{"id": 1}]}"#).is_err());
    }

    #[test]
    fn origins_and_segments() {
        assert_eq!(
            origin("https://API.github.com/gists/1"),
            "https://api.github.com"
        );
        assert_eq!(origin("http://127.0.0.1:8080"), "http://127.0.0.1:8080");
        assert_eq!(encode_segment("ab/c d"), "ab%2Fc%20d");
    }
}
