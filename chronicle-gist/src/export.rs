//! The export loop: claim queued rows, send them to the Gist API, ack or
//! fail each one.
//!
//! Guarantees, whatever happens:
//! * every claimed row is acked, failed (`export_fail`: a real delivery
//!   failure, counted as an attempt) or released (`export_release`: given
//!   back untried, not counted) before the loop lets go of it, except when
//!   the database itself is unreachable or the process is killed; then the
//!   lease simply expires and the row is claimed again later (nothing
//!   lost; the resend of a file GitHub already has makes no new revision);
//! * nothing is sent while GitHub's rate limit says to wait, and content
//!   changing requests are spaced by `min_request_interval` (GitHub asks
//!   for a second between them), which also lets rapid writes to one file
//!   coalesce in the queue into one request;
//! * every PATCH is first taken from the write budget that all exporters
//!   of the database share ([`WriteBudget`]: so many per minute and per
//!   hour, below GitHub's secondary limits); with none free the exporter
//!   claims nothing, so `latest` writes coalesce in the queue meanwhile and
//!   the next claim takes a bigger batch, and an `every_version` backlog
//!   waits (visibly: the log and `chronicle.export_stats()` say how far
//!   behind and how fast it drains) instead of the budget being broken;
//! * a secondary-limit answer pauses every exporter of the database
//!   ([`WriteBudget::note_secondary_limit`]): `Retry-After`, or at least a
//!   minute that doubles on repeated hits; nothing is sent meanwhile.
//! * the stop flag (set by SIGINT/SIGTERM) is honoured between requests:
//!   the request in flight finishes and is acked, the rest are released.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::db::{BudgetLimits, ClaimedExport, DbError, Mode, Operation, Queue, WriteBudget};
use crate::github::{sleep_unless_stopped, ApiError, FileChange, GithubClient};

/// Tunables of the export loop.
#[derive(Debug, Clone)]
pub struct ExportConfig {
    /// Rows per `export_claim`.
    pub batch_size: u32,
    /// Lease requested per claim.
    pub lease: Duration,
    /// Longest wait for a notification before claiming again anyway (the
    /// polling fallback, e.g. when a NOTIFY was missed).
    pub poll_interval: Duration,
    /// Longest rate-limit wait during which claimed rows are kept (and then
    /// sent); a longer wait gives them back with `retry_after`.
    pub max_hold: Duration,
    /// Drain what is claimable, then return instead of waiting for more.
    pub exit_when_idle: bool,
    /// Files per PATCH in `latest` mode.
    pub max_files_per_request: usize,
    /// Content bytes per PATCH in `latest` mode (a single larger file is
    /// still sent, alone).
    pub max_request_bytes: usize,
    /// Least time between two PATCH requests. GitHub's guidance for
    /// content-creating requests is one per second; it also gives writes
    /// to a `latest` file time to coalesce into one queued row.
    pub min_request_interval: Duration,
    /// The write budget shared with the database's other exporters.
    pub budget: BudgetLimits,
    /// The least pause after a secondary-limit answer without
    /// `Retry-After` (GitHub: a minute); doubled on repeated hits.
    pub secondary_limit_wait: Duration,
    /// Least time between two log lines about waiting for the budget.
    pub backlog_log_interval: Duration,
}

impl Default for ExportConfig {
    fn default() -> Self {
        ExportConfig {
            batch_size: 10,
            lease: Duration::from_secs(60),
            poll_interval: Duration::from_secs(30),
            max_hold: Duration::from_secs(30),
            exit_when_idle: false,
            max_files_per_request: 50,
            max_request_bytes: 8 * 1024 * 1024,
            min_request_interval: Duration::from_secs(1),
            budget: BudgetLimits::default(),
            secondary_limit_wait: Duration::from_secs(60),
            backlog_log_interval: Duration::from_secs(30),
        }
    }
}

/// Counters of one run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExportReport {
    /// PATCH requests sent (including refused ones).
    pub requests: u64,
    pub acked: u64,
    /// Rows failed with an error (they will be retried or go dead).
    pub failed: u64,
    /// Rows given back unsent with `export_release` (stopping, rate limit,
    /// 401).
    pub released: u64,
    /// Acks/fails/releases refused because the row was no longer under our
    /// lease (it expired and the row was claimed again).
    pub stale_leases: u64,
    /// Rate-limit answers received.
    pub rate_limited: u64,
    /// Secondary-limit answers among them (each paused every exporter).
    pub secondary_limited: u64,
    /// Times the shared write budget had no write free when one was needed.
    pub budget_waits: u64,
    /// The run ended because the stop flag was set.
    pub stopped: bool,
    /// `exit_when_idle` ended the run because of a long rate-limit wait.
    pub exited_rate_limited: bool,
}

impl ExportReport {
    /// Adds another run's counters (the CLI's runs across reconnects).
    pub fn add(&mut self, other: &ExportReport) {
        self.requests += other.requests;
        self.acked += other.acked;
        self.failed += other.failed;
        self.released += other.released;
        self.stale_leases += other.stale_leases;
        self.rate_limited += other.rate_limited;
        self.secondary_limited += other.secondary_limited;
        self.budget_waits += other.budget_waits;
        self.stopped |= other.stopped;
        self.exited_rate_limited |= other.exited_rate_limited;
    }
}

impl fmt::Display for ExportReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} requests, {} acked, {} failed, {} released, {} stale leases, {} rate-limit answers ({} secondary), {} budget waits",
            self.requests,
            self.acked,
            self.failed,
            self.released,
            self.stale_leases,
            self.rate_limited,
            self.secondary_limited,
            self.budget_waits
        )
    }
}

/// Why the loop stopped early.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExportError {
    /// GitHub answered 401: every further request would fail too. The
    /// claimed rows were released before returning.
    Unauthorized(String),
    /// The queue could not be read or updated.
    Database(DbError),
}

impl fmt::Display for ExportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExportError::Unauthorized(message) => {
                write!(
                    f,
                    "{message}; stopping the exporter (claimed rows were given back)"
                )
            }
            ExportError::Database(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for ExportError {}

impl From<DbError> for ExportError {
    fn from(e: DbError) -> Self {
        ExportError::Database(e)
    }
}

/// The rows of one PATCH.
type Request = Vec<ClaimedExport>;

/// Groups a claimed batch into PATCH requests, keeping claim order.
///
/// `latest` rows of one gist share a request (one Gist revision for
/// several files) up to the size caps, but a file never appears twice in
/// one request: a second row of the same file starts a new request so
/// versions still reach GitHub in order. `every_version` rows each get
/// their own request so each version becomes its own revision. Rows the
/// program cannot send (unknown operation or mode, write without payload)
/// come back separately with the reason.
pub fn plan_requests(
    rows: Vec<ClaimedExport>,
    max_files: usize,
    max_bytes: usize,
) -> (Vec<Request>, Vec<(ClaimedExport, String)>) {
    let mut requests: Vec<Request> = Vec::new();
    let mut invalid = Vec::new();
    // Per gist: the open `latest` request and its content size.
    let mut open: HashMap<String, (usize, usize)> = HashMap::new();
    for row in rows {
        let operation = Operation::parse(&row.operation);
        let Some(mode) = Mode::parse(&row.mode) else {
            let reason = format!("invalid queue row: unknown mode '{}'", row.mode);
            invalid.push((row, reason));
            continue;
        };
        match operation {
            None => {
                let reason = format!("invalid queue row: unknown operation '{}'", row.operation);
                invalid.push((row, reason));
                continue;
            }
            Some(Operation::Write) if row.payload.is_none() => {
                invalid.push((row, "invalid queue row: write without payload".into()));
                continue;
            }
            Some(_) => {}
        }
        let size = row.payload.as_deref().map_or(0, str::len);
        if mode == Mode::Latest {
            if let Some((index, bytes)) = open.get_mut(&row.gist_id) {
                let request = &mut requests[*index];
                let fits = request.len() < max_files
                    && *bytes + size <= max_bytes
                    && !request.iter().any(|r| r.file_name == row.file_name);
                if fits {
                    *bytes += size;
                    request.push(row);
                    continue;
                }
            }
            open.insert(row.gist_id.clone(), (requests.len(), size));
        }
        requests.push(vec![row]);
    }
    (requests, invalid)
}

/// The export loop over a [`Queue`] and a [`GithubClient`].
pub struct Exporter<'a, Q: Queue + WriteBudget> {
    queue: Q,
    github: &'a GithubClient,
    config: ExportConfig,
    stop: &'a AtomicBool,
    report: ExportReport,
    /// When the last PATCH was sent (for `min_request_interval`).
    last_request: Option<Instant>,
    /// The last claim waited for the budget: the queue is coalescing, so
    /// the next claim takes as many rows as one PATCH may carry.
    under_pressure: bool,
    /// When the backlog was last logged (at most every
    /// `backlog_log_interval`).
    backlog_logged: Option<Instant>,
}

impl<'a, Q: Queue + WriteBudget> Exporter<'a, Q> {
    /// `stop` is the flag the signal handlers set (see
    /// [`crate::cli::install_stop_handlers`]); tests set it directly.
    pub fn new(
        queue: Q,
        github: &'a GithubClient,
        config: ExportConfig,
        stop: &'a AtomicBool,
    ) -> Self {
        Exporter {
            queue,
            github,
            config,
            stop,
            report: ExportReport::default(),
            last_request: None,
            under_pressure: false,
            backlog_logged: None,
        }
    }

    pub fn report(&self) -> &ExportReport {
        &self.report
    }

    pub fn into_queue(self) -> Q {
        self.queue
    }

    fn stopping(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    /// Runs until the stop flag is set, or, with `exit_when_idle`, until
    /// nothing is claimable.
    pub fn run(&mut self) -> Result<(), ExportError> {
        loop {
            if self.stopping() {
                self.report.stopped = true;
                return Ok(());
            }
            // Claim nothing while GitHub wants silence: the rows would only
            // wait under lease or be given back.
            if let Some(wait) = self.github.blocked_for() {
                if self.config.exit_when_idle && wait > self.config.max_hold {
                    log(format!(
                        "GitHub rate limit: nothing may be sent for {}s; exiting, queued rows stay queued",
                        wait.as_secs_f64().ceil()
                    ));
                    self.report.exited_rate_limited = true;
                    return Ok(());
                }
                log(format!(
                    "GitHub rate limit: waiting {}s before sending",
                    wait.as_secs_f64().ceil()
                ));
                sleep_unless_stopped(wait, Some(self.stop));
                continue;
            }
            // Space requests before claiming rather than after: rows
            // written meanwhile coalesce, and the claim gets the newest.
            if let Some(wait) = self.pacing_wait() {
                sleep_unless_stopped(wait, Some(self.stop));
                continue;
            }
            // The same for the shared budget (and a pause another
            // exporter recorded): claim nothing until a write is free.
            if let Some(wait) = self.queue.write_wait(&self.config.budget)? {
                if self.config.exit_when_idle && wait > self.config.max_hold {
                    log(format!(
                        "the write budget ({}) has nothing free for {}s; exiting, queued rows stay queued",
                        self.config.budget,
                        wait.as_secs_f64().ceil()
                    ));
                    self.report.exited_rate_limited = true;
                    return Ok(());
                }
                self.report.budget_waits += 1;
                self.under_pressure = true;
                self.log_backlog(wait)?;
                sleep_unless_stopped(wait, Some(self.stop));
                continue;
            }
            let batch = if self.under_pressure {
                self.config
                    .batch_size
                    .max(self.config.max_files_per_request.min(1000) as u32)
            } else {
                self.config.batch_size
            };
            let rows = self.queue.claim(batch, self.config.lease)?;
            self.under_pressure = false;
            if rows.is_empty() {
                if self.config.exit_when_idle {
                    return Ok(());
                }
                self.wait_for_work()?;
                continue;
            }
            self.run_batch(rows)?;
        }
    }

    /// Waits for a notification, at most `poll_interval`, waking twice a
    /// second to notice the stop flag.
    fn wait_for_work(&mut self) -> Result<(), ExportError> {
        let deadline = Instant::now() + self.config.poll_interval;
        while !self.stopping() {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            if self
                .queue
                .wait_for_notification(left.min(Duration::from_millis(500)))?
            {
                break;
            }
        }
        Ok(())
    }

    /// Sends one claimed batch. Every row is acked, failed or released
    /// before this returns, unless the database fails.
    pub fn run_batch(&mut self, rows: Vec<ClaimedExport>) -> Result<(), ExportError> {
        let claimed_at = Instant::now();
        let (requests, invalid) = plan_requests(
            rows,
            self.config.max_files_per_request.max(1),
            self.config.max_request_bytes,
        );
        for (row, reason) in invalid {
            log(format!("{}: {reason}", row.describe()));
            self.fail_rows(&[row], &reason, None)?;
        }
        let mut pending: VecDeque<Request> = requests.into();
        while let Some(request) = pending.pop_front() {
            if self.stopping() {
                pending.push_front(request);
                self.release_all(pending, Duration::ZERO, "the exporter is stopping")?;
                self.report.stopped = true;
                return Ok(());
            }
            if let Some(wait) = self.github.blocked_for() {
                pending.push_front(request);
                if self.can_hold(claimed_at, wait) {
                    sleep_unless_stopped(wait, Some(self.stop));
                    continue; // re-checks the stop flag and the block
                }
                let why = format!("GitHub rate limit, retry in {}s", wait.as_secs_f64().ceil());
                return self.release_all(pending, wait, &why);
            }
            if let Some(wait) = self.pacing_wait() {
                pending.push_front(request);
                if self.can_hold(claimed_at, wait) {
                    sleep_unless_stopped(wait, Some(self.stop));
                    continue;
                }
                // The lease would not outlive the spacing: give the rest
                // back for the next claim.
                return self.release_all(pending, Duration::ZERO, "the lease is running out");
            }
            if let Some(wait) = self.queue.take_write(&self.config.budget)? {
                self.report.budget_waits += 1;
                self.under_pressure = true;
                pending.push_front(request);
                self.log_backlog(wait)?;
                if self.can_hold(claimed_at, wait) {
                    sleep_unless_stopped(wait, Some(self.stop));
                    continue;
                }
                let why = format!(
                    "the write budget ({}) has nothing free for {}s",
                    self.config.budget,
                    wait.as_secs_f64().ceil()
                );
                return self.release_all(pending, wait, &why);
            }
            self.report.requests += 1;
            self.last_request = Some(Instant::now());
            match self.send(&request) {
                Ok(revision) => self.ack_rows(&request, &revision)?,
                Err(ApiError::RateLimited {
                    wait,
                    message,
                    secondary,
                    retry_after,
                }) => {
                    self.report.rate_limited += 1;
                    let wait = if secondary {
                        self.report.secondary_limited += 1;
                        // Every exporter of the database stops, for at
                        // least as long as GitHub asked.
                        let shared = self.queue.note_secondary_limit(
                            retry_after,
                            self.config.secondary_limit_wait,
                            &message,
                        )?;
                        self.github.block_for(shared);
                        shared.max(wait)
                    } else {
                        wait
                    };
                    log(format!(
                        "GitHub {}rate limit ({message}); nothing sent for {}s",
                        if secondary { "secondary " } else { "" },
                        wait.as_secs_f64().ceil()
                    ));
                    // Not a delivery failure: the request was never
                    // processed. Hold it for a short wait (the block check
                    // above sleeps), else give everything back.
                    pending.push_front(request);
                    if self.can_hold(claimed_at, wait) {
                        continue;
                    }
                    let why = format!("GitHub rate limit, retry in {}s", wait.as_secs_f64().ceil());
                    return self.release_all(pending, wait, &why);
                }
                Err(ApiError::Unauthorized { message }) => {
                    let error = ApiError::Unauthorized { message }.to_string();
                    log(error.clone());
                    // Not these rows' fault: give them back untried, at
                    // once, for an exporter with a working token.
                    pending.push_front(request);
                    self.release_all(pending, Duration::ZERO, "GitHub rejected the token (401)")?;
                    return Err(ExportError::Unauthorized(error));
                }
                Err(ApiError::Validation { message }) if request.len() > 1 => {
                    // GitHub refuses the whole PATCH for one bad file: send
                    // the files one by one so only the offender fails.
                    log(format!(
                        "GitHub refused a {}-file PATCH to gist {} ({message}); sending the files one by one",
                        request.len(),
                        request[0].gist_id
                    ));
                    for row in request.into_iter().rev() {
                        pending.push_front(vec![row]);
                    }
                }
                Err(error) => {
                    let error = error.to_string();
                    for row in &request {
                        log(format!("{}: {error}", row.describe()));
                    }
                    self.fail_rows(&request, &error, None)?;
                }
            }
        }
        Ok(())
    }

    /// Says, at most every `backlog_log_interval`, that the budget holds the
    /// exporter back, and how far behind that leaves the queue.
    fn log_backlog(&mut self, wait: Duration) -> Result<(), ExportError> {
        if self
            .backlog_logged
            .is_some_and(|at| at.elapsed() < self.config.backlog_log_interval)
        {
            return Ok(());
        }
        self.backlog_logged = Some(Instant::now());
        let backlog = match self.queue.backlog() {
            Ok(Some(backlog)) => format!("; {backlog}"),
            Ok(None) => String::new(),
            Err(e) if e.is_connection() => return Err(ExportError::Database(e)),
            Err(e) => format!("; backlog unknown ({e})"),
        };
        tracing::info!(
            "write budget ({}) spent or paused: next write in {}s{backlog}",
            self.config.budget,
            wait.as_secs_f64().ceil()
        );
        Ok(())
    }

    /// How long to wait before the next PATCH to keep `min_request_interval`.
    fn pacing_wait(&self) -> Option<Duration> {
        let since = self.last_request?.elapsed();
        let wait = self.config.min_request_interval.saturating_sub(since);
        (!wait.is_zero()).then_some(wait)
    }

    /// Whether to sit out a rate-limit wait with the rows still leased:
    /// only if the wait is short and the lease outlives it with margin.
    fn can_hold(&self, claimed_at: Instant, wait: Duration) -> bool {
        let margin = (self.config.lease / 10).max(Duration::from_secs(1));
        wait <= self.config.max_hold && claimed_at.elapsed() + wait + margin < self.config.lease
    }

    /// One PATCH for the rows; returns the revision GitHub reports.
    fn send(&self, request: &[ClaimedExport]) -> Result<String, ApiError> {
        let changes: Vec<FileChange> = request
            .iter()
            .map(
                |row| match (Operation::parse(&row.operation), &row.payload) {
                    (Some(Operation::Write), Some(content)) => FileChange::Write {
                        file_name: row.file_name.clone(),
                        content: content.clone(),
                    },
                    // plan_requests let nothing else through.
                    _ => FileChange::Remove {
                        file_name: row.file_name.clone(),
                    },
                },
            )
            .collect();
        self.github.update_gist(&request[0].gist_id, &changes)
    }

    fn ack_rows(&mut self, rows: &[ClaimedExport], revision: &str) -> Result<(), ExportError> {
        let leases: Vec<(i64, &str)> = rows
            .iter()
            .map(|r| (r.id, r.lease_token.as_str()))
            .collect();
        let results = self.queue.ack_all(&leases, revision);
        for (row, result) in rows.iter().zip(results) {
            match result {
                Ok(()) => self.report.acked += 1,
                Err(e) => self.row_db_error(row, "ack", e)?,
            }
        }
        Ok(())
    }

    fn fail_rows(
        &mut self,
        rows: &[ClaimedExport],
        error: &str,
        retry_after: Option<Duration>,
    ) -> Result<(), ExportError> {
        for row in rows {
            match self
                .queue
                .fail(row.id, &row.lease_token, error, retry_after)
            {
                Ok(()) => self.report.failed += 1,
                Err(e) => self.row_db_error(row, "fail", e)?,
            }
        }
        Ok(())
    }

    /// Gives back every row of the remaining requests unsent
    /// (`export_release`: the attempt does not count).
    fn release_all(
        &mut self,
        pending: VecDeque<Request>,
        retry_after: Duration,
        why: &str,
    ) -> Result<(), ExportError> {
        let rows: Vec<ClaimedExport> = pending.into_iter().flatten().collect();
        if rows.is_empty() {
            return Ok(());
        }
        log(format!(
            "giving back {} claimed row(s) unsent ({why}){}",
            rows.len(),
            if retry_after.is_zero() {
                String::new()
            } else {
                format!(", claimable again in {}s", retry_after.as_secs_f64().ceil())
            }
        ));
        for row in rows {
            match self.queue.release(row.id, &row.lease_token, retry_after) {
                Ok(()) => self.report.released += 1,
                Err(e) => self.row_db_error(&row, "release", e)?,
            }
        }
        Ok(())
    }

    /// A refused ack/fail of one row is logged and skipped (a stale lease
    /// means another exporter owns the row now); a lost connection ends
    /// the run.
    fn row_db_error(
        &mut self,
        row: &ClaimedExport,
        what: &str,
        e: DbError,
    ) -> Result<(), ExportError> {
        if e.is_connection() {
            return Err(ExportError::Database(e));
        }
        if e.is_stale_lease() {
            self.report.stale_leases += 1;
            log(format!(
                "{}: {what} refused, the lease expired and the row was claimed again ({e})",
                row.describe()
            ));
        } else {
            log(format!("{}: {what} refused: {e}", row.describe()));
        }
        Ok(())
    }
}

fn log(message: String) {
    tracing::warn!("{message}");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: i64, gist: &str, file: &str, mode: &str) -> ClaimedExport {
        ClaimedExport {
            id,
            lease_token: format!("t{id}"),
            attempt: 1,
            gist_id: gist.into(),
            file_name: file.into(),
            operation: "write".into(),
            payload: Some("{}".into()),
            mode: mode.into(),
            entity_type: "doc".into(),
            entity_id: file.into(),
            version: id,
            checksum: None,
        }
    }

    fn ids(requests: &[Request]) -> Vec<Vec<i64>> {
        requests
            .iter()
            .map(|r| r.iter().map(|row| row.id).collect())
            .collect()
    }

    #[test]
    fn latest_rows_of_a_gist_share_a_request() {
        let rows = vec![
            row(1, "g1", "a.json", "latest"),
            row(2, "g2", "a.json", "latest"),
            row(3, "g1", "b.json", "latest"),
            row(4, "g1", "c.json", "latest"),
        ];
        let (requests, invalid) = plan_requests(rows, 50, 1 << 20);
        assert!(invalid.is_empty());
        assert_eq!(ids(&requests), vec![vec![1, 3, 4], vec![2]]);
    }

    #[test]
    fn every_version_rows_are_alone_and_ordered() {
        let rows = vec![
            row(1, "g", "a.json", "every_version"),
            row(2, "g", "b.json", "every_version"),
            row(3, "g", "a.json", "every_version"),
        ];
        let (requests, _) = plan_requests(rows, 50, 1 << 20);
        assert_eq!(ids(&requests), vec![vec![1], vec![2], vec![3]]);
    }

    #[test]
    fn a_file_never_appears_twice_in_a_request_and_caps_hold() {
        let rows = vec![
            row(1, "g", "a.json", "latest"),
            row(2, "g", "a.json", "latest"),
            row(3, "g", "b.json", "latest"),
        ];
        let (requests, _) = plan_requests(rows.clone(), 50, 1 << 20);
        assert_eq!(ids(&requests), vec![vec![1], vec![2, 3]]);
        let (requests, _) = plan_requests(rows.clone(), 1, 1 << 20);
        assert_eq!(ids(&requests), vec![vec![1], vec![2], vec![3]]);
        // Each payload is 2 bytes; a 3-byte cap keeps requests single.
        let (requests, _) = plan_requests(rows, 50, 3);
        assert_eq!(ids(&requests), vec![vec![1], vec![2], vec![3]]);
    }

    #[test]
    fn rows_that_cannot_be_sent_are_returned_with_reasons() {
        let mut bad_mode = row(1, "g", "a.json", "sometimes");
        bad_mode.mode = "sometimes".into();
        let mut bad_op = row(2, "g", "b.json", "latest");
        bad_op.operation = "rename".into();
        let mut no_payload = row(3, "g", "c.json", "latest");
        no_payload.payload = None;
        let mut remove = row(4, "g", "d.json", "latest");
        remove.operation = "remove".into();
        remove.payload = None;
        let (requests, invalid) =
            plan_requests(vec![bad_mode, bad_op, no_payload, remove], 50, 100);
        assert_eq!(ids(&requests), vec![vec![4]]);
        let reasons: Vec<&str> = invalid.iter().map(|(_, r)| r.as_str()).collect();
        assert_eq!(
            reasons,
            [
                "invalid queue row: unknown mode 'sometimes'",
                "invalid queue row: unknown operation 'rename'",
                "invalid queue row: write without payload"
            ]
        );
    }
}
