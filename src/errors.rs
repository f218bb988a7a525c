//! Raising SQL errors. Every error a user can cause goes through here, so it carries a
//! proper SQLSTATE and a message that names the offending value, never a Rust panic text.

use pgrx::pg_sys::panic::ErrorReport;
use pgrx::prelude::*;

/// Raises `ERROR` with `code` and `message`; the current transaction (or subtransaction)
/// is aborted, so nothing the failing statement did survives.
#[track_caller]
pub fn raise(code: PgSqlErrorCode, message: impl Into<String>) -> ! {
    report(ErrorReport::new(code, message.into(), "pg_chronicle"))
}

/// Like [`raise`], with a hint telling the user what to do instead.
#[track_caller]
pub fn raise_with_hint(
    code: PgSqlErrorCode,
    message: impl Into<String>,
    hint: impl Into<String>,
) -> ! {
    report(ErrorReport::new(code, message.into(), "pg_chronicle").set_hint(hint))
}

/// Like [`raise`], with a DETAIL (the full list behind a summary message).
#[track_caller]
pub fn raise_with_detail(
    code: PgSqlErrorCode,
    message: impl Into<String>,
    detail: impl Into<String>,
) -> ! {
    report(ErrorReport::new(code, message.into(), "pg_chronicle").set_detail(detail))
}

fn report(report: ErrorReport) -> ! {
    report.report(PgLogLevel::ERROR);
    unreachable!("ereport(ERROR) does not return")
}

/// Rejects NULL and empty text arguments that name something, such as an entity type.
pub fn require_name(what: &str, value: Option<&str>) -> String {
    match value {
        None => raise(
            PgSqlErrorCode::ERRCODE_NULL_VALUE_NOT_ALLOWED,
            format!("{what} must not be NULL"),
        ),
        Some("") => raise(
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            format!("{what} must not be empty"),
        ),
        Some(name) => name.to_owned(),
    }
}
