//! Who is acting: the user a write is attributed to (`created_by`) and whose command
//! executions row-level security shows.
//!
//! The user is the `sub` claim PostgREST puts in the `request.jwt.claims` setting (or its
//! older per-claim form `request.jwt.claim.sub`) — exactly what Supabase's own
//! `auth.uid()` reads. We read the settings ourselves rather than call `auth.uid()`:
//! this runs inside SECURITY DEFINER code owned by a superuser, and any role that can
//! create a schema can create a function named `auth.uid()`. Calling it would run that
//! role's code with the definer's rights. A claim that is not a uuid means "nobody": it
//! must never be mistaken for somebody else.

use std::ffi::CStr;

use pgrx::prelude::*;
use pgrx::{pg_sys, Uuid};

/// The acting user, or NULL.
#[pg_extern(stable, parallel_safe)]
pub fn current_user_id() -> Option<Uuid> {
    let sub = setting(c"request.jwt.claim.sub")
        .filter(|sub| !sub.is_empty())
        .or_else(|| claims_sub(&setting(c"request.jwt.claims")?))?;
    parse_uuid(&sub)
}

fn setting(name: &CStr) -> Option<String> {
    // SAFETY: missing_ok = true returns NULL for an unknown setting instead of raising.
    let value = unsafe { pg_sys::GetConfigOption(name.as_ptr(), true, false) };
    if value.is_null() {
        return None;
    }
    // SAFETY: GUC values are NUL-terminated strings owned by the GUC machinery.
    Some(
        unsafe { CStr::from_ptr(value) }
            .to_string_lossy()
            .into_owned(),
    )
}

fn claims_sub(claims: &str) -> Option<String> {
    let claims: serde_json::Value = serde_json::from_str(claims).ok()?;
    Some(claims.get("sub")?.as_str()?.to_owned())
}

/// A uuid in its canonical text form (hex digits in groups of 8-4-4-4-12, any case).
pub fn parse_uuid(text: &str) -> Option<Uuid> {
    let bytes = text.as_bytes();
    if bytes.len() != 36 || [8, 13, 18, 23].iter().any(|&dash| bytes[dash] != b'-') {
        return None;
    }
    let hex: Vec<u8> = bytes.iter().copied().filter(|&b| b != b'-').collect();
    let mut out = [0u8; 16];
    for (byte, pair) in out.iter_mut().zip(hex.chunks_exact(2)) {
        let pair = std::str::from_utf8(pair).ok()?;
        *byte = u8::from_str_radix(pair, 16).ok()?;
    }
    (hex.len() == 32).then(|| Uuid::from_bytes(out))
}
