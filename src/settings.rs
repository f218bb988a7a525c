//! The extension's GUCs. Registered in `_PG_init`, so they exist as soon as the library is
//! loaded (by `CREATE EXTENSION`, by a call to any chronicle function, or preloaded).

use std::ffi::{CStr, CString};
use std::sync::atomic::{AtomicBool, Ordering};

use pgrx::pg_sys;

use pgrx::guc::{GucContext, GucFlags, GucRegistry, GucSetting};

/// GitHub refuses Gist files over 10 MB, and every state is meant to reach a Gist.
const DEFAULT_MAX_STATE_BYTES: i32 = 10 * 1024 * 1024;

pub static MAX_STATE_BYTES: GucSetting<i32> = GucSetting::<i32>::new(DEFAULT_MAX_STATE_BYTES);

pub static EXPORT_MAX_ATTEMPTS: GucSetting<i32> = GucSetting::<i32>::new(10);

/// Keys whose values never reach disk in command executions: the default list of
/// `chronicle_json`, which says how keys are matched. A GUC's boot value must be a
/// C string constant, hence the copy, which the build checks against the original.
const DEFAULT_REDACT_KEYS: &std::ffi::CStr =
    c"password,passwd,pwd,passphrase,contrasena,contraseña,db_pass,\
    secret,token,jwt,bearer,csrf,xsrf,\
    authorization,auth_header,cookie,session,signature,\
    api_key,auth_key,access_key,private_key,priv_key,client_key,service_key,account_key,\
    signing_key,encryption_key,master_key,ssh_key,\
    credential,connection_string,database_url";

const _: () = assert!(
    same_bytes(
        DEFAULT_REDACT_KEYS.to_bytes(),
        chronicle_json::DEFAULT_REDACT_KEYS.as_bytes()
    ),
    "settings::DEFAULT_REDACT_KEYS must equal chronicle_json::DEFAULT_REDACT_KEYS"
);

const fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

pub static REDACT_KEYS: GucSetting<Option<CString>> =
    GucSetting::<Option<CString>>::new(Some(DEFAULT_REDACT_KEYS));

/// Whether this library registered the settings (below). It did not when the backend had
/// already loaded another release's library, which registered them first: each release has
/// a library of its own, and a session that called a function of a database's old release
/// before `ALTER EXTENSION pg_chronicle UPDATE` loads the new library beside the old one.
/// PostgreSQL refuses to define a setting twice, so the new library reads them by name.
static REGISTERED_HERE: AtomicBool = AtomicBool::new(false);

pub fn register() {
    // SAFETY: a lookup by NUL-terminated name; missing_ok, so an unknown name gives 0.
    let flags =
        unsafe { pg_sys::GetConfigOptionFlags(c"chronicle.max_state_bytes".as_ptr(), true) };
    // Registered settings always have flags (max_state_bytes has its unit); a placeholder
    // made by `SET chronicle.max_state_bytes` before any library loaded is ours to take over.
    if flags != 0 && flags & pg_sys::GUC_CUSTOM_PLACEHOLDER as i32 == 0 {
        return;
    }
    REGISTERED_HERE.store(true, Ordering::Relaxed);
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
        c"Comma-separated keys whose values are replaced by \"[REDACTED]\" in command executions (parameters, metadata, error, context).",
        c"A key matches when, after Unicode NFKC and case folding and ignoring every character that is not a letter or digit, it contains one of these; at any depth, also in header lists and JSON inside strings.",
        &REDACT_KEYS,
        GucContext::Suset,
        GucFlags::default(),
    );
}

/// A setting another release's library registered, as text (integers without units).
fn registered_elsewhere(name: &CStr) -> String {
    // SAFETY: the setting exists (register() saw it), so this returns a valid C string,
    // which is copied before anything else can change it.
    unsafe {
        CStr::from_ptr(pg_sys::GetConfigOption(name.as_ptr(), false, false))
            .to_string_lossy()
            .into_owned()
    }
}

fn int_setting(setting: &GucSetting<i32>, name: &CStr) -> i32 {
    if REGISTERED_HERE.load(Ordering::Relaxed) {
        setting.get()
    } else {
        registered_elsewhere(name)
            .parse()
            .unwrap_or_else(|_| setting.get())
    }
}

/// The current redaction list.
pub fn redact_keys() -> String {
    if !REGISTERED_HERE.load(Ordering::Relaxed) {
        return registered_elsewhere(c"chronicle.redact_keys");
    }
    REDACT_KEYS
        .get()
        .map(|keys| keys.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// The limit in bytes, as a `usize` for comparing with document lengths.
pub fn max_state_bytes() -> usize {
    usize::try_from(int_setting(&MAX_STATE_BYTES, c"chronicle.max_state_bytes"))
        .unwrap_or(usize::MAX)
}

/// The most bytes of JSON text the extension reads or builds from one document — an
/// argument it parses (a state, an execution's parameters, a tracked event) or an output
/// it derives (a diff): twice `chronicle.max_state_bytes`. Checked before the document
/// is read or the output built, so that memory stays a bounded multiple of the setting:
/// an allocation Rust cannot satisfy aborts the whole server, not just the statement.
pub fn max_derived_bytes() -> usize {
    max_state_bytes().saturating_mul(2)
}
