//! In-memory fakes of [`Queue`] and [`StateStore`] that follow the
//! database contract, for tests and benchmarks without PostgreSQL.
//!
//! Both are cheap handles around shared state (`Clone` shares), so a test
//! can give one clone to the code under test and inspect another.
//!
//! Contract points they honour, because the exporter and importer rely on
//! them:
//! * `claim` leases up to `batch` rows, at most one row per
//!   `(gist_id, file_name)` in flight, and only the oldest unfinished row
//!   of a file (so rows of one file come in version order); an expired
//!   lease makes the row claimable again with a new token;
//! * `ack`/`fail`/`release` with a stale or wrong token fail with SQLSTATE
//!   55000 (a token is stale once the row was claimed again; an expired
//!   lease nobody claimed still holds);
//! * `fail` schedules a retry at `now + retry_after`, or after the default
//!   backoff, and marks the row dead after `max_attempts` attempts;
//! * `release` makes the row pending again at `now + retry_after` and takes
//!   back the attempt its claim counted;
//! * `import_state_version` returns `None` for an already imported
//!   `(gist_id, gist_revision, file_name)` (checked first) and refuses a
//!   `valid_from` that is not later than the entity's last change (22023);

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use chronicle_gist::db::{
    BudgetLimits, ClaimedExport, CurrentEntity, DbError, GistTarget, ImportVersion, Mode,
    Operation, Queue, StateStore, WriteBudget, SQLSTATE_INVALID_PARAMETER, SQLSTATE_STALE_LEASE,
};
use chronicle_gist::time::Timestamp;

/// A row to put on the fake queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewExport {
    pub gist_id: String,
    pub file_name: String,
    pub operation: Operation,
    pub payload: Option<String>,
    pub mode: Mode,
    pub entity_type: String,
    pub entity_id: String,
    pub version: i64,
}

impl NewExport {
    /// A `write` of `content` to `gist_id/file_name`; the entity is derived
    /// from the file name (`thing.json` → type `doc`, id `thing`).
    pub fn write(gist_id: &str, file_name: &str, content: &str, mode: Mode, version: i64) -> Self {
        NewExport {
            gist_id: gist_id.into(),
            file_name: file_name.into(),
            operation: Operation::Write,
            payload: Some(content.into()),
            mode,
            entity_type: "doc".into(),
            entity_id: file_name.trim_end_matches(".json").into(),
            version,
        }
    }

    /// A `remove` of `gist_id/file_name`.
    pub fn remove(gist_id: &str, file_name: &str, mode: Mode, version: i64) -> Self {
        NewExport {
            operation: Operation::Remove,
            payload: None,
            ..Self::write(gist_id, file_name, "", mode, version)
        }
    }
}

/// Where a fake queue row is in its life.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RowStatus {
    /// Waiting; claimable from `available_at` on.
    Pending { available_at: Instant },
    /// Claimed with `token` until `until`.
    Leased { token: String, until: Instant },
    /// Acked with this Gist revision.
    Done { gist_revision: String },
    /// Failed `max_attempts` times.
    Dead,
}

/// A snapshot of one fake queue row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueRow {
    pub id: i64,
    pub export: NewExport,
    pub status: RowStatus,
    pub attempt: i32,
    pub last_error: Option<String>,
}

/// Something that happened to the fake queue, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueueEvent {
    Claimed {
        id: i64,
        attempt: i32,
    },
    Acked {
        id: i64,
        gist_revision: String,
    },
    Failed {
        id: i64,
        error: String,
        retry_after: Option<Duration>,
    },
    /// Given back untried (`export_release`).
    Released {
        id: i64,
        retry_after: Duration,
    },
    /// An ack or fail refused because the token was stale.
    StaleToken {
        id: i64,
    },
}

struct QueueState {
    rows: Vec<QueueRow>,
    events: Vec<QueueEvent>,
    next_token: u64,
    notified: bool,
    max_attempts: i32,
    default_backoff: Duration,
    /// When each write was taken from the budget (oldest first).
    writes: Vec<Instant>,
    /// No write before this instant (a secondary-limit pause).
    blocked_until: Option<Instant>,
    /// Secondary-limit answers in a row, and when the last one came.
    hits: u32,
    last_hit: Option<Instant>,
}

/// The fake export queue.
#[derive(Clone)]
pub struct MemoryQueue {
    shared: Arc<(Mutex<QueueState>, Condvar)>,
}

impl Default for MemoryQueue {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryQueue {
    /// An empty queue: 5 attempts per row, 60 s default backoff.
    pub fn new() -> Self {
        MemoryQueue {
            shared: Arc::new((
                Mutex::new(QueueState {
                    rows: Vec::new(),
                    events: Vec::new(),
                    next_token: 1,
                    notified: false,
                    max_attempts: 5,
                    default_backoff: Duration::from_secs(60),
                    writes: Vec::new(),
                    blocked_until: None,
                    hits: 0,
                    last_hit: None,
                }),
                Condvar::new(),
            )),
        }
    }

    pub fn with_max_attempts(self, max_attempts: i32) -> Self {
        self.state().max_attempts = max_attempts;
        self
    }

    /// The delay `fail` uses when called without `retry_after`.
    pub fn with_default_backoff(self, backoff: Duration) -> Self {
        self.state().default_backoff = backoff;
        self
    }

    fn state(&self) -> MutexGuard<'_, QueueState> {
        self.shared.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds a row and notifies waiters (like the enqueue trigger's NOTIFY).
    /// Returns its id.
    pub fn enqueue(&self, export: NewExport) -> i64 {
        let mut state = self.state();
        let id = state.rows.len() as i64 + 1;
        state.rows.push(QueueRow {
            id,
            export,
            status: RowStatus::Pending {
                available_at: Instant::now(),
            },
            attempt: 0,
            last_error: None,
        });
        state.notified = true;
        self.shared.1.notify_all();
        id
    }

    pub fn rows(&self) -> Vec<QueueRow> {
        self.state().rows.clone()
    }

    pub fn row(&self, id: i64) -> QueueRow {
        self.state().rows[(id - 1) as usize].clone()
    }

    pub fn events(&self) -> Vec<QueueEvent> {
        self.state().events.clone()
    }

    /// The `(id, revision)` of every ack, in order.
    pub fn acks(&self) -> Vec<(i64, String)> {
        self.events()
            .into_iter()
            .filter_map(|e| match e {
                QueueEvent::Acked { id, gist_revision } => Some((id, gist_revision)),
                _ => None,
            })
            .collect()
    }

    /// The `(id, error, retry_after)` of every fail, in order.
    pub fn fails(&self) -> Vec<(i64, String, Option<Duration>)> {
        self.events()
            .into_iter()
            .filter_map(|e| match e {
                QueueEvent::Failed {
                    id,
                    error,
                    retry_after,
                } => Some((id, error, retry_after)),
                _ => None,
            })
            .collect()
    }

    /// The `(id, retry_after)` of every release, in order.
    pub fn releases(&self) -> Vec<(i64, Duration)> {
        self.events()
            .into_iter()
            .filter_map(|e| match e {
                QueueEvent::Released { id, retry_after } => Some((id, retry_after)),
                _ => None,
            })
            .collect()
    }

    /// Rows not yet done or dead.
    pub fn unfinished(&self) -> usize {
        self.state()
            .rows
            .iter()
            .filter(|r| !matches!(r.status, RowStatus::Done { .. } | RowStatus::Dead))
            .count()
    }

    /// Makes every lease expire now (as if the exporter had stalled).
    pub fn expire_leases(&self) {
        let now = Instant::now();
        for row in &mut self.state().rows {
            if let RowStatus::Leased { until, .. } = &mut row.status {
                *until = now;
            }
        }
    }

    /// Checks `token` against row `id`'s current lease. As in the database,
    /// a lease that expired but was not claimed again still holds: only a
    /// new claim (a new token) or the row's ack/fail/release ends it.
    fn leased_row<'a>(
        state: &'a mut QueueState,
        id: i64,
        token: &str,
    ) -> Result<&'a mut QueueRow, DbError> {
        let index = usize::try_from(id - 1).unwrap_or(usize::MAX);
        let valid = state.rows.get(index).is_some_and(
            |row| matches!(&row.status, RowStatus::Leased { token: t, .. } if t == token),
        );
        if !valid {
            state.events.push(QueueEvent::StaleToken { id });
            return Err(DbError::Server {
                code: SQLSTATE_STALE_LEASE.into(),
                message: format!("lease of export {id} is not held by this token"),
            });
        }
        Ok(&mut state.rows[index])
    }
}

impl QueueState {
    /// What `chronicle._gist_budget_wait` computes, in memory.
    fn budget_wait(&self, limits: &BudgetLimits, now: Instant) -> Option<Duration> {
        let mut wait = self
            .blocked_until
            .map_or(Duration::ZERO, |until| until.saturating_duration_since(now));
        for (limit, window) in [
            (limits.per_minute, limits.minute),
            (limits.per_hour, limits.hour),
        ] {
            let inside: Vec<&Instant> = self
                .writes
                .iter()
                .filter(|at| now.saturating_duration_since(**at) < window)
                .collect();
            // Like the database, which refuses a limit below 1.
            let limit = limit.max(1) as usize;
            if inside.len() >= limit {
                let leaving = inside[inside.len() - limit];
                wait = wait.max((*leaving + window).saturating_duration_since(now));
            }
        }
        (!wait.is_zero()).then_some(wait)
    }
}

/// The budget is this queue's own: clones of one `MemoryQueue` share it,
/// like exporters of one database.
impl WriteBudget for MemoryQueue {
    fn take_write(&mut self, limits: &BudgetLimits) -> Result<Option<Duration>, DbError> {
        let mut state = self.state();
        let now = Instant::now();
        if let Some(wait) = state.budget_wait(limits, now) {
            return Ok(Some(wait));
        }
        state.writes.push(now);
        let keep = limits.minute.max(limits.hour);
        state
            .writes
            .retain(|at| now.saturating_duration_since(*at) < keep);
        Ok(None)
    }

    fn write_wait(&mut self, limits: &BudgetLimits) -> Result<Option<Duration>, DbError> {
        Ok(self.state().budget_wait(limits, Instant::now()))
    }

    fn note_secondary_limit(
        &mut self,
        retry_after: Option<Duration>,
        min_wait: Duration,
        _message: &str,
    ) -> Result<Duration, DbError> {
        let mut state = self.state();
        let now = Instant::now();
        let repeated = state
            .last_hit
            .is_some_and(|at| now.saturating_duration_since(at) < min_wait * 60);
        state.hits = if repeated { state.hits + 1 } else { 1 };
        state.last_hit = Some(now);
        let wait = retry_after.unwrap_or(min_wait * (1u32 << (state.hits - 1).min(6)));
        let until = state.blocked_until.into_iter().chain([now + wait]).max();
        state.blocked_until = until;
        Ok(until.map_or(wait, |u| u.saturating_duration_since(now)))
    }
}

impl Queue for MemoryQueue {
    fn claim(&mut self, batch: u32, lease: Duration) -> Result<Vec<ClaimedExport>, DbError> {
        let now = Instant::now();
        let mut state = self.state();
        let state = &mut *state;
        let mut claimed = Vec::new();
        // Files with a row in flight or an older unfinished row: their
        // later rows must wait.
        let mut busy_files = HashSet::new();
        for row in &mut state.rows {
            if claimed.len() >= batch as usize {
                break;
            }
            let file = (row.export.gist_id.clone(), row.export.file_name.clone());
            let claimable = match &row.status {
                RowStatus::Done { .. } | RowStatus::Dead => continue,
                RowStatus::Pending { available_at } => *available_at <= now,
                RowStatus::Leased { until, .. } => *until <= now,
            };
            if !busy_files.insert(file) || !claimable {
                continue;
            }
            let token = format!("00000000-0000-4000-8000-{:012x}", state.next_token);
            state.next_token += 1;
            row.attempt += 1;
            row.status = RowStatus::Leased {
                token: token.clone(),
                until: now + lease,
            };
            state.events.push(QueueEvent::Claimed {
                id: row.id,
                attempt: row.attempt,
            });
            let e = &row.export;
            claimed.push(ClaimedExport {
                id: row.id,
                lease_token: token,
                attempt: row.attempt,
                gist_id: e.gist_id.clone(),
                file_name: e.file_name.clone(),
                operation: e.operation.as_str().into(),
                payload: e.payload.clone(),
                mode: e.mode.as_str().into(),
                entity_type: e.entity_type.clone(),
                entity_id: e.entity_id.clone(),
                version: e.version,
                checksum: e
                    .payload
                    .as_deref()
                    .and_then(|p| chronicle_json::parse(p).ok())
                    .map(|v| chronicle_json::checksum(&v)),
            });
        }
        Ok(claimed)
    }

    fn ack(&mut self, id: i64, lease_token: &str, gist_revision: &str) -> Result<(), DbError> {
        let mut state = self.state();
        let row = Self::leased_row(&mut state, id, lease_token)?;
        row.status = RowStatus::Done {
            gist_revision: gist_revision.into(),
        };
        state.events.push(QueueEvent::Acked {
            id,
            gist_revision: gist_revision.into(),
        });
        Ok(())
    }

    fn fail(
        &mut self,
        id: i64,
        lease_token: &str,
        error: &str,
        retry_after: Option<Duration>,
    ) -> Result<(), DbError> {
        let mut state = self.state();
        let (max_attempts, backoff) = (state.max_attempts, state.default_backoff);
        let row = Self::leased_row(&mut state, id, lease_token)?;
        row.last_error = Some(error.into());
        row.status = if row.attempt >= max_attempts {
            RowStatus::Dead
        } else {
            RowStatus::Pending {
                available_at: Instant::now() + retry_after.unwrap_or(backoff),
            }
        };
        state.events.push(QueueEvent::Failed {
            id,
            error: error.into(),
            retry_after,
        });
        Ok(())
    }

    fn release(
        &mut self,
        id: i64,
        lease_token: &str,
        retry_after: Duration,
    ) -> Result<(), DbError> {
        let mut state = self.state();
        let row = Self::leased_row(&mut state, id, lease_token)?;
        row.attempt = (row.attempt - 1).max(0);
        row.status = RowStatus::Pending {
            available_at: Instant::now() + retry_after,
        };
        state.events.push(QueueEvent::Released { id, retry_after });
        Ok(())
    }

    fn wait_for_notification(&mut self, timeout: Duration) -> Result<bool, DbError> {
        let (lock, condvar) = &*self.shared;
        let state = lock.lock().unwrap_or_else(|e| e.into_inner());
        let (mut state, _) = condvar
            .wait_timeout_while(state, timeout, |s| !s.notified)
            .unwrap_or_else(|e| e.into_inner());
        Ok(std::mem::replace(&mut state.notified, false))
    }
}

/// One stored version in the fake state store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredVersion {
    pub version: i64,
    pub state_json: String,
    pub valid_from: Timestamp,
    /// `(gist_id, gist_revision, file_name)` for imported versions.
    pub imported_from: Option<(String, String, String)>,
}

#[derive(Default)]
struct StoreState {
    targets: BTreeMap<String, GistTarget>,
    entities: BTreeMap<(String, String), Vec<StoredVersion>>,
    imported: HashSet<(String, String, String)>,
    import_calls: usize,
}

/// The fake state store.
#[derive(Clone, Default)]
pub struct MemoryStore {
    shared: Arc<Mutex<StoreState>>,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    fn state(&self) -> MutexGuard<'_, StoreState> {
        self.shared.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds an enabled `gist_targets` row.
    pub fn add_target(
        &self,
        entity_type: &str,
        gist_id: &str,
        filename_template: &str,
        mode: Mode,
    ) {
        self.state().targets.insert(
            entity_type.into(),
            GistTarget {
                entity_type: entity_type.into(),
                gist_id: Some(gist_id.into()),
                filename_template: Some(filename_template.into()),
                enabled: true,
                mode: mode.as_str().into(),
            },
        );
    }

    /// Appends a version made "now" (as a command would), returns its number.
    pub fn set_state(&self, entity_type: &str, entity_id: &str, state_json: &str) -> i64 {
        let mut state = self.state();
        let versions = state
            .entities
            .entry((entity_type.into(), entity_id.into()))
            .or_default();
        let last = versions.last().map(|v| v.valid_from);
        let valid_from = match last {
            Some(last) if last >= Timestamp::now() => last.next_micro(),
            _ => Timestamp::now(),
        };
        let version = versions.len() as i64 + 1;
        versions.push(StoredVersion {
            version,
            state_json: state_json.into(),
            valid_from,
            imported_from: None,
        });
        version
    }

    /// All versions of an entity, oldest first.
    pub fn versions(&self, entity_type: &str, entity_id: &str) -> Vec<StoredVersion> {
        self.state()
            .entities
            .get(&(entity_type.into(), entity_id.into()))
            .cloned()
            .unwrap_or_default()
    }

    /// The ids of all entities of a type.
    pub fn entity_ids(&self, entity_type: &str) -> Vec<String> {
        self.state()
            .entities
            .keys()
            .filter(|(t, _)| t == entity_type)
            .map(|(_, id)| id.clone())
            .collect()
    }

    /// How many times `import_state_version` was called.
    pub fn import_calls(&self) -> usize {
        self.state().import_calls
    }

    /// Disables (`enabled = false`) an entity type's target.
    pub fn disable_target(&self, entity_type: &str) {
        if let Some(target) = self.state().targets.get_mut(entity_type) {
            target.enabled = false;
        }
    }
}

impl StateStore for MemoryStore {
    fn import_state_version(&mut self, v: &ImportVersion<'_>) -> Result<Option<i64>, DbError> {
        let mut state = self.state();
        state.import_calls += 1;
        let key = (
            v.gist_id.to_string(),
            v.gist_revision.to_string(),
            v.file_name.to_string(),
        );
        // Duplicates first: a re-run must get NULL, not an ordering error.
        if state.imported.contains(&key) {
            return Ok(None);
        }
        let refuse = |code: &str, message: String| DbError::Server {
            code: code.into(),
            message,
        };
        if let Err(e) = chronicle_json::parse(v.state_json) {
            return Err(refuse(
                "22P02",
                format!("invalid input syntax for type json: {e}"),
            ));
        }
        let valid_from = Timestamp::parse_rfc3339(v.valid_from)
            .ok_or_else(|| refuse("22007", format!("invalid timestamp \"{}\"", v.valid_from)))?;
        let versions = state
            .entities
            .entry((v.entity_type.into(), v.entity_id.into()))
            .or_default();
        if let Some(last) = versions.last() {
            if valid_from <= last.valid_from {
                return Err(refuse(
                    SQLSTATE_INVALID_PARAMETER,
                    format!(
                        "valid_from {valid_from} is not later than the last change of {} {} ({})",
                        v.entity_type, v.entity_id, last.valid_from
                    ),
                ));
            }
        }
        let version = versions.len() as i64 + 1;
        versions.push(StoredVersion {
            version,
            state_json: v.state_json.into(),
            valid_from,
            imported_from: Some(key.clone()),
        });
        state.imported.insert(key);
        Ok(Some(version))
    }

    fn gist_targets(&mut self) -> Result<Vec<GistTarget>, DbError> {
        Ok(self.state().targets.values().cloned().collect())
    }

    fn current_entities(&mut self, entity_type: &str) -> Result<Vec<CurrentEntity>, DbError> {
        let state = self.state();
        Ok(state
            .entities
            .iter()
            .filter(|((t, _), _)| t == entity_type)
            .filter_map(|((t, id), versions)| {
                let last = versions.last()?;
                // Like the database: the checksum of the canonical form.
                let value = chronicle_json::parse(&last.state_json).ok()?;
                Some(CurrentEntity {
                    entity_type: t.clone(),
                    entity_id: id.clone(),
                    version: last.version,
                    checksum: chronicle_json::checksum(&value),
                })
            })
            .collect())
    }
}
