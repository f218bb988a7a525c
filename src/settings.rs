//! The extension's GUCs. Registered in `_PG_init`, so they exist as soon as the library is
//! loaded (by `CREATE EXTENSION`, by a call to any chronicle function, or preloaded).

use pgrx::guc::{GucContext, GucFlags, GucRegistry, GucSetting};

/// GitHub refuses Gist files over 10 MB, and every state is meant to reach a Gist.
const DEFAULT_MAX_STATE_BYTES: i32 = 10 * 1024 * 1024;

pub static MAX_STATE_BYTES: GucSetting<i32> = GucSetting::<i32>::new(DEFAULT_MAX_STATE_BYTES);

pub static EXPORT_MAX_ATTEMPTS: GucSetting<i32> = GucSetting::<i32>::new(10);

pub fn register() {
    // SUSET: the limit protects the Gist copy, so an ordinary session must not lift it for
    // itself; an administrator can still `GRANT SET ON PARAMETER chronicle.max_state_bytes`.
    GucRegistry::define_int_guc(
        c"chronicle.max_state_bytes",
        c"Largest state document chronicle.state_store accepts, in bytes of canonical JSON.",
        c"Defaults to 10MB, the size GitHub accepts for one Gist file.",
        &MAX_STATE_BYTES,
        1,
        i32::MAX,
        GucContext::Suset,
        GucFlags::UNIT_BYTE,
    );
    GucRegistry::define_int_guc(
        c"chronicle.export_max_attempts",
        c"Deliveries a Gist export gets before it is dead.",
        c"After this many failed attempts (chronicle.export_fail) an export waits for chronicle.export_redrive().",
        &EXPORT_MAX_ATTEMPTS,
        1,
        1000,
        GucContext::Suset,
        GucFlags::default(),
    );
}

/// The limit in bytes, as a `usize` for comparing with document lengths.
pub fn max_state_bytes() -> usize {
    usize::try_from(MAX_STATE_BYTES.get()).unwrap_or(usize::MAX)
}
