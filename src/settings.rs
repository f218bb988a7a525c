//! The extension's GUCs. Registered in `_PG_init`, so they exist as soon as the library is
//! loaded (by `CREATE EXTENSION`, by a call to any chronicle function, or preloaded).

use std::ffi::CString;

use pgrx::guc::{GucContext, GucFlags, GucRegistry, GucSetting};

/// GitHub refuses Gist files over 10 MB, and every state is meant to reach a Gist.
const DEFAULT_MAX_STATE_BYTES: i32 = 10 * 1024 * 1024;

pub static MAX_STATE_BYTES: GucSetting<i32> = GucSetting::<i32>::new(DEFAULT_MAX_STATE_BYTES);

pub static EXPORT_MAX_ATTEMPTS: GucSetting<i32> = GucSetting::<i32>::new(10);

/// Keys whose values never reach disk in command parameters (matched as described in
/// chronicle_json::Redactor: case-insensitive, ignoring `_` `-` and spaces, by substring).
const DEFAULT_REDACT_KEYS: &std::ffi::CStr = c"password,passwd,secret,token,api_key,apikey,authorization,auth_header,access_key,private_key,client_secret,credential,cookie,session_key,signature";

pub static REDACT_KEYS: GucSetting<Option<CString>> = GucSetting::<Option<CString>>::new(Some(DEFAULT_REDACT_KEYS));

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
    // SUSET: a session must not be able to switch redaction off for itself.
    GucRegistry::define_string_guc(
        c"chronicle.redact_keys",
        c"Comma-separated keys whose values are replaced by \"[REDACTED]\" in command parameters.",
        c"A key matches when, ignoring case, '_', '-' and spaces, it contains one of these; at any depth.",
        &REDACT_KEYS,
        GucContext::Suset,
        GucFlags::default(),
    );
}

/// The current redaction list.
pub fn redact_keys() -> String {
    REDACT_KEYS.get().map(|keys| keys.to_string_lossy().into_owned()).unwrap_or_default()
}

/// The limit in bytes, as a `usize` for comparing with document lengths.
pub fn max_state_bytes() -> usize {
    usize::try_from(MAX_STATE_BYTES.get()).unwrap_or(usize::MAX)
}
