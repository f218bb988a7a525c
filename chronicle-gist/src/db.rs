//! What chronicle-gist needs from the database, as two small traits.
//!
//! [`Queue`] is the export queue (`chronicle.export_claim/ack/fail/release`
//! and the `chronicle_export` notification channel); [`StateStore`] is what import
//! and verify read and write. The PostgreSQL implementation is
//! [`crate::pg::PgDatabase`]; [`crate::memory`] has in-memory fakes with
//! the same contract for tests and benchmarks.

use std::fmt;
use std::time::Duration;

/// SQLSTATE `object_not_in_prerequisite_state`: `export_ack`, `export_fail`
/// and `export_release` raise it when the row is not under the presented
/// lease (it expired and the row was claimed again, or the row was already
/// acknowledged, failed or released).
pub const SQLSTATE_STALE_LEASE: &str = "55000";

/// SQLSTATE `invalid_parameter_value`: `import_state_version` raises it
/// when `valid_from` is not strictly later than the entity's last change.
pub const SQLSTATE_INVALID_PARAMETER: &str = "22023";

/// SQLSTATE `check_violation`: a write (an import included) that does not
/// validate against its entity type's schema (`chronicle.set_state_schema`).
pub const SQLSTATE_SCHEMA_REFUSED: &str = "23514";

/// A database failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DbError {
    /// No usable connection (cannot connect, connection lost, protocol
    /// error). Nothing more can be done with this database handle.
    Connection(String),
    /// The server refused one statement (`code` is its SQLSTATE); the
    /// connection is still fine for the next one.
    Server { code: String, message: String },
}

impl DbError {
    /// The lease this call used is no longer ours.
    pub fn is_stale_lease(&self) -> bool {
        matches!(self, DbError::Server { code, .. } if code == SQLSTATE_STALE_LEASE)
    }

    /// The connection is gone, so carrying on with other items is pointless:
    /// no connection, or the server ended the session (SQLSTATE class 08,
    /// connection exception, or 57P01-57P03: terminated by an
    /// administrator, crash or shutdown, cannot connect now).
    pub fn is_connection(&self) -> bool {
        match self {
            DbError::Connection(_) => true,
            DbError::Server { code, .. } => {
                code.starts_with("08") || matches!(code.as_str(), "57P01" | "57P02" | "57P03")
            }
        }
    }
}

impl fmt::Display for DbError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DbError::Connection(message) => write!(f, "database connection failed: {message}"),
            DbError::Server { code, message } => write!(f, "database error {code}: {message}"),
        }
    }
}

impl std::error::Error for DbError {}

/// `operation` of a queue row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    /// Create or replace the file with `payload`.
    Write,
    /// Delete the file from the gist.
    Remove,
}

impl Operation {
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "write" => Some(Operation::Write),
            "remove" => Some(Operation::Remove),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Operation::Write => "write",
            Operation::Remove => "remove",
        }
    }
}

/// `mode` of a queue row (from `chronicle.gist_targets.mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Only the newest content matters: several files of one gist may share
    /// a PATCH (one Gist revision).
    Latest,
    /// Every version must become its own Gist revision: one PATCH per row.
    EveryVersion,
}

impl Mode {
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "latest" => Some(Mode::Latest),
            "every_version" => Some(Mode::EveryVersion),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Latest => "latest",
            Mode::EveryVersion => "every_version",
        }
    }
}

/// One row returned by `chronicle.export_claim`. `operation` and `mode`
/// stay text so that a row with a value this program does not know can
/// still be failed with a clear reason instead of stopping the exporter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimedExport {
    pub id: i64,
    pub lease_token: String,
    pub attempt: i32,
    pub gist_id: String,
    pub file_name: String,
    pub operation: String,
    pub payload: Option<String>,
    pub mode: String,
    pub entity_type: String,
    pub entity_id: String,
    pub version: i64,
    pub checksum: Option<String>,
}

impl ClaimedExport {
    /// A short description for log lines.
    pub fn describe(&self) -> String {
        format!(
            "export {} ({} {} v{} -> gist {} file {})",
            self.id, self.entity_type, self.entity_id, self.version, self.gist_id, self.file_name
        )
    }
}

/// The export queue.
pub trait Queue {
    /// `chronicle.export_claim(batch, lease)`.
    fn claim(&mut self, batch: u32, lease: Duration) -> Result<Vec<ClaimedExport>, DbError>;

    /// `chronicle.export_ack(id, lease_token, gist_revision)`. A stale
    /// token gives an error for which [`DbError::is_stale_lease`] holds.
    fn ack(&mut self, id: i64, lease_token: &str, gist_revision: &str) -> Result<(), DbError>;

    /// Acks several rows delivered by one request (one Gist revision).
    /// Returns one result per row, in order. The default acks them one by
    /// one; [`crate::pg::PgDatabase`] does it in one statement.
    fn ack_all(&mut self, rows: &[(i64, &str)], gist_revision: &str) -> Vec<Result<(), DbError>> {
        rows.iter()
            .map(|(id, token)| self.ack(*id, token, gist_revision))
            .collect()
    }

    /// `chronicle.export_fail(id, lease_token, error, retry_after)`: a real
    /// delivery failure, which counts as an attempt (the row goes dead after
    /// `chronicle.export_max_attempts`). `retry_after: None` lets the
    /// database pick its backoff.
    fn fail(
        &mut self,
        id: i64,
        lease_token: &str,
        error: &str,
        retry_after: Option<Duration>,
    ) -> Result<(), DbError>;

    /// `chronicle.export_release(id, lease_token, retry_after)`: gives a
    /// claimed row back untried (the exporter is stopping, GitHub's rate
    /// limit, a rejected token): pending again after `retry_after`, and the
    /// attempt does not count.
    fn release(&mut self, id: i64, lease_token: &str, retry_after: Duration)
        -> Result<(), DbError>;

    /// Waits up to `timeout` for a `chronicle_export` notification; `true`
    /// when one arrived. Implementations without notifications just sleep
    /// and return `false` (the exporter then polls).
    fn wait_for_notification(&mut self, timeout: Duration) -> Result<bool, DbError>;
}

impl<Q: Queue + ?Sized> Queue for &mut Q {
    fn claim(&mut self, batch: u32, lease: Duration) -> Result<Vec<ClaimedExport>, DbError> {
        (**self).claim(batch, lease)
    }
    fn ack(&mut self, id: i64, lease_token: &str, gist_revision: &str) -> Result<(), DbError> {
        (**self).ack(id, lease_token, gist_revision)
    }
    fn ack_all(&mut self, rows: &[(i64, &str)], gist_revision: &str) -> Vec<Result<(), DbError>> {
        (**self).ack_all(rows, gist_revision)
    }
    fn release(
        &mut self,
        id: i64,
        lease_token: &str,
        retry_after: Duration,
    ) -> Result<(), DbError> {
        (**self).release(id, lease_token, retry_after)
    }
    fn fail(
        &mut self,
        id: i64,
        lease_token: &str,
        error: &str,
        retry_after: Option<Duration>,
    ) -> Result<(), DbError> {
        (**self).fail(id, lease_token, error, retry_after)
    }
    fn wait_for_notification(&mut self, timeout: Duration) -> Result<bool, DbError> {
        (**self).wait_for_notification(timeout)
    }
}

/// One historical version to append (`chronicle.import_state_version`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportVersion<'a> {
    pub entity_type: &'a str,
    pub entity_id: &'a str,
    /// The file's JSON text, already checked to parse.
    pub state_json: &'a str,
    /// RFC 3339 UTC timestamp.
    pub valid_from: &'a str,
    pub gist_id: &'a str,
    pub gist_revision: &'a str,
    pub file_name: &'a str,
}

/// A row of `chronicle.gist_targets`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GistTarget {
    pub entity_type: String,
    pub gist_id: Option<String>,
    pub filename_template: Option<String>,
    pub enabled: bool,
    pub mode: String,
}

/// A current entity (a row of `chronicle.current_state`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CurrentEntity {
    pub entity_type: String,
    pub entity_id: String,
    pub version: i64,
    /// `current_state.checksum` (canonical-JSON SHA-256, lowercase hex).
    pub checksum: String,
}

/// What import and verify need from the database.
pub trait StateStore {
    /// Appends a historical version; `Ok(None)` when this
    /// `(gist_id, gist_revision, file_name)` was imported before (checked
    /// first). A `valid_from` not strictly later than the entity's last
    /// change is refused with SQLSTATE 22023.
    fn import_state_version(&mut self, version: &ImportVersion<'_>)
        -> Result<Option<i64>, DbError>;

    /// All rows of `chronicle.gist_targets`.
    fn gist_targets(&mut self) -> Result<Vec<GistTarget>, DbError>;

    /// The current entities of one type.
    fn current_entities(&mut self, entity_type: &str) -> Result<Vec<CurrentEntity>, DbError>;
}

impl<S: StateStore + ?Sized> StateStore for &mut S {
    fn import_state_version(
        &mut self,
        version: &ImportVersion<'_>,
    ) -> Result<Option<i64>, DbError> {
        (**self).import_state_version(version)
    }
    fn gist_targets(&mut self) -> Result<Vec<GistTarget>, DbError> {
        (**self).gist_targets()
    }
    fn current_entities(&mut self, entity_type: &str) -> Result<Vec<CurrentEntity>, DbError> {
        (**self).current_entities(entity_type)
    }
}

/// The write budget shared by every exporter of a database: at most
/// `per_minute` content-creating requests in any sliding `minute` and
/// `per_hour` in any sliding `hour`. The windows are a minute and an hour
/// in production; tests scale them down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BudgetLimits {
    pub per_minute: u32,
    pub per_hour: u32,
    pub minute: Duration,
    pub hour: Duration,
}

/// GitHub allows 80 content-creating requests a minute and 500 an hour,
/// its web UI included; the defaults leave a quarter and a fifth of that
/// to people and other tools using the same account.
pub const DEFAULT_WRITES_PER_MINUTE: u32 = 60;
pub const DEFAULT_WRITES_PER_HOUR: u32 = 400;

impl Default for BudgetLimits {
    fn default() -> Self {
        BudgetLimits {
            per_minute: DEFAULT_WRITES_PER_MINUTE,
            per_hour: DEFAULT_WRITES_PER_HOUR,
            minute: Duration::from_secs(60),
            hour: Duration::from_secs(3600),
        }
    }
}

impl fmt::Display for BudgetLimits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/min, {}/h", self.per_minute, self.per_hour)
    }
}

/// How far behind the exporters are (`chronicle.export_stats()`).
#[derive(Debug, Clone, PartialEq)]
pub struct Backlog {
    /// Exports not yet delivered (waiting and pending).
    pub pending: i64,
    /// Age of the oldest of them.
    pub oldest_age: Option<Duration>,
    /// Exports delivered per minute over the last ten minutes.
    pub drain_per_minute: f64,
}

impl fmt::Display for Backlog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} exports pending", self.pending)?;
        if let Some(age) = self.oldest_age {
            write!(f, ", the oldest for {}s", age.as_secs())?;
        }
        write!(f, ", draining {:.1}/min", self.drain_per_minute)?;
        if self.pending > 0 && self.drain_per_minute > 0.0 {
            let minutes = self.pending as f64 / self.drain_per_minute;
            write!(f, " (about {:.0} min to catch up)", minutes.ceil())?;
        }
        Ok(())
    }
}

/// The write budget and secondary-limit pause that every exporter of one
/// database shares (`chronicle.gist_take_write_budget` and friends).
pub trait WriteBudget {
    /// Takes one write: `None` when taken (send now), `Some(wait)` when
    /// none is free for `wait` (send nothing).
    fn take_write(&mut self, limits: &BudgetLimits) -> Result<Option<Duration>, DbError>;

    /// How long until [`WriteBudget::take_write`] would give a write,
    /// without taking one; `None`: now.
    fn write_wait(&mut self, limits: &BudgetLimits) -> Result<Option<Duration>, DbError>;

    /// Records a secondary-limit answer: every exporter pauses for
    /// `retry_after`, or without it for `min_wait` doubled on each repeated
    /// hit. Returns the pause now in force.
    fn note_secondary_limit(
        &mut self,
        retry_after: Option<Duration>,
        min_wait: Duration,
        message: &str,
    ) -> Result<Duration, DbError>;

    /// The backlog, for the log line of an exporter held back by the
    /// budget; `None` when the implementation cannot tell.
    fn backlog(&mut self) -> Result<Option<Backlog>, DbError> {
        Ok(None)
    }
}

impl<B: WriteBudget + ?Sized> WriteBudget for &mut B {
    fn take_write(&mut self, limits: &BudgetLimits) -> Result<Option<Duration>, DbError> {
        (**self).take_write(limits)
    }
    fn write_wait(&mut self, limits: &BudgetLimits) -> Result<Option<Duration>, DbError> {
        (**self).write_wait(limits)
    }
    fn note_secondary_limit(
        &mut self,
        retry_after: Option<Duration>,
        min_wait: Duration,
        message: &str,
    ) -> Result<Duration, DbError> {
        (**self).note_secondary_limit(retry_after, min_wait, message)
    }
    fn backlog(&mut self) -> Result<Option<Backlog>, DbError> {
        (**self).backlog()
    }
}
