//! The wall clock, for the timestamps the database stamps (finish times, import
//! checks): `clock_timestamp()`, not the transaction's start. And the range of times an
//! execution may carry.

use pgrx::datum::TimestampWithTimeZone;
use pgrx::pg_sys;

pub fn clock_timestamp() -> TimestampWithTimeZone {
    // SAFETY: GetCurrentTimestamp has no preconditions.
    let now = unsafe { pg_sys::GetCurrentTimestamp() };
    TimestampWithTimeZone::try_from(now).expect("the clock is within the timestamp range")
}

/// Microseconds from PostgreSQL's epoch (2000-01-01) to 1970-01-01 UTC.
const FIRST_MICROS: i64 = -946_684_800_000_000;
/// Microseconds from PostgreSQL's epoch to 10000-01-01 UTC.
const END_MICROS: i64 = 252_455_616_000_000_000;

/// The times an execution may carry: finite, from 1970 to the end of year 9999 (UTC).
/// Within them an hour's bucket, a day's and any duration between two of them are
/// computed without leaving PostgreSQL's timestamp range or overflowing.
pub const EXECUTION_TIME_RANGE: &str = "from 1970-01-01 to 9999-12-31 (UTC)";

/// Whether `time` is in [`EXECUTION_TIME_RANGE`].
pub fn is_execution_time(time: TimestampWithTimeZone) -> bool {
    (FIRST_MICROS..END_MICROS).contains(&i64::from(time))
}

/// The longest duration between two execution times, in milliseconds.
pub const MAX_DURATION_MS: f64 = (END_MICROS - FIRST_MICROS) as f64 / 1000.0;

/// `time` moved back by `milliseconds`, if the result is still an execution time.
pub fn execution_time_before(
    time: TimestampWithTimeZone,
    milliseconds: f64,
) -> Option<TimestampWithTimeZone> {
    if !is_execution_time(time) || !(0.0..=MAX_DURATION_MS).contains(&milliseconds) {
        return None;
    }
    let start = i64::from(time) - (milliseconds * 1000.0).round() as i64;
    let start = TimestampWithTimeZone::try_from(start).ok()?;
    is_execution_time(start).then_some(start)
}

/// A number of milliseconds for an error message: in full while it is short, in
/// scientific notation when it is not (`1e300` rather than three hundred digits).
pub fn shown_ms(milliseconds: f64) -> String {
    if milliseconds.abs() < 1e15 {
        format!("{milliseconds}")
    } else {
        format!("{milliseconds:e}")
    }
}
