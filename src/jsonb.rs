//! `jsonb` values as `serde_json::Value`s, converted through `chronicle_json` rather than
//! pgrx's own `JsonB`: pgrx parses with serde_json's default recursion limit and panics on
//! anything it cannot read, while a stored state may nest deeper than that. Here a document
//! that cannot be handled is a clean SQL error.

use std::ffi::{CStr, CString};

use pgrx::prelude::*;
use pgrx::{direct_function_call, direct_function_call_as_datum, pg_sys};
use serde_json::Value;

use crate::errors::raise;

/// A `jsonb` argument or result.
pub struct Jsonb(pub Value);

pgrx::impl_sql_translatable!(Jsonb, "jsonb");

impl FromDatum for Jsonb {
    unsafe fn from_polymorphic_datum(
        datum: pg_sys::Datum,
        is_null: bool,
        _: pg_sys::Oid,
    ) -> Option<Self> {
        if is_null {
            return None;
        }
        let text = direct_function_call::<&CStr>(pg_sys::jsonb_out, &[Some(datum)])
            .expect("jsonb_out never returns NULL");
        let value = parse(text.to_str().expect("jsonb text is UTF-8"));
        pg_sys::pfree(text.as_ptr().cast_mut().cast());
        Some(Jsonb(value))
    }
}

impl IntoDatum for Jsonb {
    fn into_datum(self) -> Option<pg_sys::Datum> {
        JsonbRef(&self.0).into_datum()
    }

    fn type_oid() -> pg_sys::Oid {
        pg_sys::JSONBOID
    }
}

/// A `jsonb` argument kept as the datum PostgreSQL passed, to hand on to a statement without
/// converting it back. Only valid during the call that received it.
#[derive(Clone, Copy)]
pub struct JsonbDatum(pg_sys::Datum);

impl JsonbDatum {
    /// The document as a `serde_json::Value`.
    pub fn parse(self) -> Value {
        // SAFETY: the datum is a non-null jsonb, alive for the current call.
        unsafe { Jsonb::from_polymorphic_datum(self.0, false, pg_sys::JSONBOID) }
            .expect("a non-null datum converts")
            .0
    }
}

/// A borrowed document to pass as a `jsonb` statement argument.
pub struct JsonbRef<'a>(pub &'a Value);

impl IntoDatum for JsonbRef<'_> {
    fn into_datum(self) -> Option<pg_sys::Datum> {
        let text = CString::new(self.0.to_string()).expect("JSON text has no NUL byte");
        unsafe { direct_function_call_as_datum(pg_sys::jsonb_in, &[Some(text.as_ptr().into())]) }
    }

    fn type_oid() -> pg_sys::Oid {
        pg_sys::JSONBOID
    }
}

pgrx::impl_sql_translatable!(JsonbDatum, "jsonb");

impl FromDatum for JsonbDatum {
    unsafe fn from_polymorphic_datum(
        datum: pg_sys::Datum,
        is_null: bool,
        _: pg_sys::Oid,
    ) -> Option<Self> {
        (!is_null).then_some(JsonbDatum(datum))
    }
}

impl IntoDatum for JsonbDatum {
    fn into_datum(self) -> Option<pg_sys::Datum> {
        Some(self.0)
    }

    fn type_oid() -> pg_sys::Oid {
        pg_sys::JSONBOID
    }
}

function_abi_via_datum!(Jsonb, JsonbDatum);

fn parse(text: &str) -> Value {
    let limit = crate::settings::max_derived_bytes();
    if text.len() > limit {
        crate::errors::raise_with_hint(
            PgSqlErrorCode::ERRCODE_PROGRAM_LIMIT_EXCEEDED,
            format!(
                "jsonb value of {} bytes is over the {limit} bytes pg_chronicle reads",
                text.len()
            ),
            "pg_chronicle reads documents of up to twice chronicle.max_state_bytes.",
        );
    }
    chronicle_json::parse(text).unwrap_or_else(|error| {
        raise(
            PgSqlErrorCode::ERRCODE_PROGRAM_LIMIT_EXCEEDED,
            format!("cannot process jsonb value: {error}"),
        )
    })
}

/// "an array", "a string", …: what a JSON value is, for error messages.
pub fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
