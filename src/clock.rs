//! The wall clock, for the timestamps the database stamps (finish times, import
//! checks): `clock_timestamp()`, not the transaction's start.

use pgrx::datum::TimestampWithTimeZone;
use pgrx::pg_sys;

pub fn clock_timestamp() -> TimestampWithTimeZone {
    // SAFETY: GetCurrentTimestamp has no preconditions.
    let now = unsafe { pg_sys::GetCurrentTimestamp() };
    TimestampWithTimeZone::try_from(now).expect("the clock is within the timestamp range")
}
