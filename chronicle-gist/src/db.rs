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
