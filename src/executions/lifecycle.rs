//! The lifecycle of a command execution, enforced for every writer: status only moves
//! forward (pending -> running -> success | failed), a finished execution's status and
//! times are final, the database stamps completed_at and duration_ms when an execution
//! finishes, updated_at follows every change, times stay within the range metrics can
//! bucket, and secrets in `parameters`, `metadata`, `error` and `context` are redacted
//! before the row is stored.

use chronicle_json::Redactor;
use pgrx::datum::{TimestampWithTimeZone, TryFromDatumError};
use pgrx::prelude::*;
use pgrx::{pg_sys, WhoAllocated};

use crate::clock::{
    clock_timestamp, is_execution_time, shown_ms, EXECUTION_TIME_RANGE, MAX_DURATION_MS,
};
use crate::errors::{raise, raise_with_hint};
use crate::jsonb::{Jsonb, JsonbRef};
use crate::settings;

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Status {
    Pending,
    Running,
    Finished,
}

fn status_rank(status: &str) -> Status {
    match status {
        "pending" => Status::Pending,
        "running" => Status::Running,
        "success" | "failed" => Status::Finished,
        other => raise_with_hint(
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            format!("{other:?} is not a command status"),
            "A command execution is pending, running, success or failed.",
        ),
    }
}

/// BEFORE INSERT OR UPDATE on `chronicle.command_executions`, for each row.
#[pg_trigger(sql = r#"
CREATE FUNCTION chronicle.command_executions_lifecycle() RETURNS trigger
LANGUAGE c
AS '@MODULE_PATHNAME@', '@FUNCTION_NAME@';
COMMENT ON FUNCTION chronicle.command_executions_lifecycle() IS
  'Trigger: enforces the status order of command executions, stamps finish times and updated_at, and redacts secrets from parameters, metadata, error and context';
"#)]
fn command_executions_lifecycle<'a>(
    trigger: &'a PgTrigger<'a>,
) -> Result<Option<PgHeapTuple<'a, impl WhoAllocated>>, TryFromDatumError> {
    let mut row = trigger
        .new()
        .expect("an INSERT or UPDATE row trigger has NEW")
        .into_owned();
    let old = trigger.old();
    let now = clock_timestamp();

    let command_name = row.get_by_name::<String>("command_name")?;
    match command_name.as_deref() {
        None => raise(
            PgSqlErrorCode::ERRCODE_NULL_VALUE_NOT_ALLOWED,
            "command_name must not be NULL",
        ),
        Some("") => raise(
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            "command_name must not be empty",
        ),
        Some(name) if name.chars().count() > 255 => raise(
            PgSqlErrorCode::ERRCODE_STRING_DATA_RIGHT_TRUNCATION,
            format!(
                "command_name is {} characters long, more than the 255 allowed",
                name.chars().count()
            ),
        ),
        Some(_) => {}
    }
    let status = row.get_by_name::<String>("status")?.unwrap_or_else(|| {
        raise(
            PgSqlErrorCode::ERRCODE_NULL_VALUE_NOT_ALLOWED,
            "status must not be NULL",
        )
    });
    let rank = status_rank(&status);
    let id = row
        .get_by_name::<pgrx::Uuid>("id")?
        .map(|id| id.to_string())
        .unwrap_or_default();

    // Whether this write finishes the execution, and what it finished with before.
    let finishing = match &old {
        None => rank == Status::Finished,
        Some(old) => {
            let old_status = old.get_by_name::<String>("status")?.unwrap_or_default();
            let old_rank = status_rank(&old_status);
            if old_rank == Status::Finished {
                if status != old_status {
                    raise_with_hint(
                        PgSqlErrorCode::ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
                        format!("command execution {id} already finished as {old_status}; its status cannot become {status}"),
                        "A finished execution is final; record a new execution instead.",
                    );
                }
                for column in ["started_at", "completed_at"] {
                    if row.get_by_name::<TimestampWithTimeZone>(column)?
                        != old.get_by_name::<TimestampWithTimeZone>(column)?
                    {
                        raise(
                            PgSqlErrorCode::ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
                            format!("command execution {id} already finished; its {column} cannot change"),
                        );
                    }
                }
                if row.get_by_name::<f64>("duration_ms")?
                    != old.get_by_name::<f64>("duration_ms")?
                {
                    raise(
                        PgSqlErrorCode::ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
                        format!("command execution {id} already finished; its duration_ms cannot change"),
                    );
                }
            } else if rank < old_rank {
                raise_with_hint(
                    PgSqlErrorCode::ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
                    format!("command execution {id} is {old_status}; its status cannot go back to {status}"),
                    "Status moves pending -> running -> success or failed, never back.",
                );
            }
            rank == Status::Finished && old_rank != Status::Finished
        }
    };

    let started_at = row
        .get_by_name::<TimestampWithTimeZone>("started_at")?
        .unwrap_or(now);
    let completed_at = row.get_by_name::<TimestampWithTimeZone>("completed_at")?;
    check_time(&id, "started_at", started_at);
    if let Some(completed_at) = completed_at {
        check_time(&id, "completed_at", completed_at);
    }
    let duration_ms = row.get_by_name::<f64>("duration_ms")?;
    if let Some(duration) = duration_ms {
        if !(0.0..=MAX_DURATION_MS).contains(&duration) {
            raise(
                PgSqlErrorCode::ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE,
                format!(
                    "duration_ms must be a number of milliseconds from 0 to {MAX_DURATION_MS}, not {}",
                    shown_ms(duration)
                ),
            );
        }
    }
    if finishing {
        let completed_at = completed_at.unwrap_or(now);
        if completed_at < started_at {
            raise(
                PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
                format!("command execution {id} cannot complete at {completed_at}, before it started at {started_at}"),
            );
        }
        let old_duration = match &old {
            Some(old) => old.get_by_name::<f64>("duration_ms")?,
            None => None,
        };
        // A duration the writer gives (a tracked event's execution time) is kept.
        let duration = match duration_ms {
            Some(given) if old.is_none() || Some(given) != old_duration => given,
            _ => milliseconds_between(started_at, completed_at),
        };
        row.set_by_name("completed_at", completed_at)?;
        row.set_by_name("duration_ms", duration)?;
    } else if rank != Status::Finished && (completed_at.is_some() || duration_ms.is_some()) {
        raise(
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            format!("command execution {id} is {status}: completed_at and duration_ms are set when it finishes"),
        );
    }

    // Every document a reader of command_events sees: parameters, and what a command
    // reports of itself (metadata, error, a tracked event's context).
    // Built only once a document needs it: most updates only move the status.
    let mut redactor = None;
    for column in REDACTED_COLUMNS {
        if !changed(&row, old.as_ref(), column)? {
            continue;
        }
        match row.get_by_name::<Jsonb>(column)? {
            Some(Jsonb(mut document)) => {
                let redactor =
                    redactor.get_or_insert_with(|| Redactor::from_list(&settings::redact_keys()));
                if redactor.redact(&mut document) > 0 {
                    row.set_by_name(column, JsonbRef(&document))?;
                }
            }
            None if column == "parameters" => raise(
                PgSqlErrorCode::ERRCODE_NULL_VALUE_NOT_ALLOWED,
                "parameters must not be NULL (use {})",
            ),
            None => {}
        }
    }
    if old.is_some() {
        row.set_by_name("updated_at", now)?;
    }
    Ok(Some(row))
}

/// The `jsonb` columns whose secrets never reach disk.
const REDACTED_COLUMNS: [&str; 4] = ["parameters", "metadata", "error", "context"];

/// Whether a `jsonb` column needs redacting: always on insert, on update only when it
/// changed (comparing the stored bytes saves parsing the document on every status move).
fn changed<A: WhoAllocated, B: WhoAllocated>(
    new: &PgHeapTuple<'_, A>,
    old: Option<&PgHeapTuple<'_, B>>,
    column: &str,
) -> Result<bool, TryFromDatumError> {
    let Some(old) = old else {
        return Ok(true);
    };
    let new_bytes = new.get_by_name::<JsonbBytes>(column)?;
    let old_bytes = old.get_by_name::<JsonbBytes>(column)?;
    Ok(new_bytes.map(|b| b.0) != old_bytes.map(|b| b.0))
}

/// The raw bytes of a `jsonb` value.
struct JsonbBytes(Vec<u8>);

impl FromDatum for JsonbBytes {
    unsafe fn from_polymorphic_datum(
        datum: pg_sys::Datum,
        is_null: bool,
        _: pg_sys::Oid,
    ) -> Option<Self> {
        if is_null {
            return None;
        }
        Vec::<u8>::from_polymorphic_datum(datum, false, pg_sys::BYTEAOID).map(JsonbBytes)
    }
}

impl IntoDatum for JsonbBytes {
    fn into_datum(self) -> Option<pg_sys::Datum> {
        unreachable!("only read from tuples")
    }

    fn type_oid() -> pg_sys::Oid {
        pg_sys::JSONBOID
    }
}

function_abi_via_datum!(JsonbBytes);

/// Refuses a time outside the range every bucket and duration can be computed in: one
/// such row would otherwise stop the metrics refresh for everybody.
fn check_time(id: &str, column: &str, time: TimestampWithTimeZone) {
    if !is_execution_time(time) {
        raise_with_hint(
            PgSqlErrorCode::ERRCODE_DATETIME_FIELD_OVERFLOW,
            format!("{column} of command execution {id} is {time}, outside the times an execution may carry"),
            format!("Executions run {EXECUTION_TIME_RANGE}."),
        );
    }
}

/// Both times are execution times, so the difference cannot overflow.
fn milliseconds_between(start: TimestampWithTimeZone, end: TimestampWithTimeZone) -> f64 {
    (i64::from(end) - i64::from(start)) as f64 / 1000.0
}
