//! The SQL type `chronicle.quantile_sketch`: a varlena holding the sketch's binary format
//! (see `crates/quantile-sketch`), with text and binary I/O. Every way into the type
//! (text input, binary receive) validates strictly, so a stored value always decodes.

use std::ffi::CStr;

use pgrx::datum::Internal;
use pgrx::pg_sys;
use pgrx::pgrx_sql_entity_graph::metadata::{
    ArgumentError, ReturnsError, ReturnsRef, SqlMappingRef, SqlTranslatable, TypeOrigin,
};
use pgrx::prelude::*;
use pgrx::{varlena, PgMemoryContexts};
use quantile_sketch::QuantileSketch;

use crate::sketch::sketch_error;

/// A decoded `chronicle.quantile_sketch` value.
pub struct Sketch(pub QuantileSketch);

unsafe impl SqlTranslatable for Sketch {
    const TYPE_IDENT: &'static str = pgrx::pgrx_resolved_type!(Sketch);
    const TYPE_ORIGIN: TypeOrigin = TypeOrigin::ThisExtension;
    const ARGUMENT_SQL: Result<SqlMappingRef, ArgumentError> =
        Ok(SqlMappingRef::literal("chronicle.quantile_sketch"));
    const RETURN_SQL: Result<ReturnsRef, ReturnsError> = Ok(ReturnsRef::One(
        SqlMappingRef::literal("chronicle.quantile_sketch"),
    ));
}

impl FromDatum for Sketch {
    unsafe fn from_polymorphic_datum(
        datum: pg_sys::Datum,
        is_null: bool,
        _: pg_sys::Oid,
    ) -> Option<Self> {
        if is_null {
            return None;
        }
        let raw = datum.cast_mut_ptr::<pg_sys::varlena>();
        let detoasted = pg_sys::pg_detoast_datum_packed(raw);
        let decoded = QuantileSketch::from_bytes(varlena::varlena_to_byte_slice(detoasted));
        if detoasted != raw {
            pg_sys::pfree(detoasted.cast());
        }
        // Only validated values get stored, so failing here means the bytes were damaged.
        Some(Sketch(decoded.unwrap_or_else(|error| {
            crate::errors::raise(
                PgSqlErrorCode::ERRCODE_DATA_CORRUPTED,
                format!("stored quantile_sketch is corrupt: {error}"),
            )
        })))
    }
}

impl IntoDatum for Sketch {
    fn into_datum(self) -> Option<pg_sys::Datum> {
        let bytes = self.0.to_bytes();
        Some(pg_sys::Datum::from(
            varlena::rust_byte_slice_to_bytea(&bytes).into_pg(),
        ))
    }

    fn type_oid() -> pg_sys::Oid {
        // The type has no fixed OID; pgrx only needs this for arrays and SPI arguments of
        // this type, which the extension does not use.
        pg_sys::InvalidOid
    }
}

function_abi_via_datum!(Sketch);

extension_sql!(
    "CREATE TYPE chronicle.quantile_sketch;",
    name = "quantile_sketch_shell",
    creates = [Type(Sketch)],
    requires = ["bootstrap"],
);

#[pg_extern(immutable, strict, parallel_safe)]
fn quantile_sketch_in(input: &CStr) -> Sketch {
    let text = input.to_str().unwrap_or_else(|_| {
        crate::errors::raise(
            PgSqlErrorCode::ERRCODE_INVALID_TEXT_REPRESENTATION,
            "quantile_sketch text is not UTF-8",
        )
    });
    Sketch(QuantileSketch::from_text(text).unwrap_or_else(|error| sketch_error(error)))
}

#[pg_extern(immutable, strict, parallel_safe)]
fn quantile_sketch_out(sketch: Sketch) -> &'static CStr {
    let text = sketch.0.to_text();
    // Allocated in the caller's memory context, which owns the result.
    unsafe { CStr::from_ptr(PgMemoryContexts::CurrentMemoryContext.pstrdup(&text)) }
}

/// The rest of a receive function's message, consumed so that the caller sees it read:
/// the whole remaining message is the value.
pub(crate) fn remaining_message(buffer: Internal) -> Vec<u8> {
    let buffer = buffer
        .unwrap()
        .expect("receive functions get a buffer")
        .cast_mut_ptr::<pg_sys::StringInfoData>();
    // SAFETY: PostgreSQL passes a receive function its StringInfo, valid for the call.
    unsafe {
        let buffer = &mut *buffer;
        let remaining = usize::try_from(buffer.len - buffer.cursor).unwrap_or(0);
        let start = buffer
            .data
            .add(usize::try_from(buffer.cursor).unwrap_or(0))
            .cast::<u8>();
        buffer.cursor = buffer.len;
        std::slice::from_raw_parts(start, remaining).to_vec()
    }
}

#[pg_extern(immutable, strict, parallel_safe)]
fn quantile_sketch_recv(buffer: Internal) -> Sketch {
    let bytes = remaining_message(buffer);
    Sketch(QuantileSketch::from_bytes(&bytes).unwrap_or_else(|error| sketch_error(error)))
}

#[pg_extern(immutable, strict, parallel_safe)]
fn quantile_sketch_send(sketch: Sketch) -> Vec<u8> {
    sketch.0.to_bytes()
}

extension_sql!(
    r#"
CREATE TYPE chronicle.quantile_sketch (
    INPUT = chronicle.quantile_sketch_in,
    OUTPUT = chronicle.quantile_sketch_out,
    RECEIVE = chronicle.quantile_sketch_recv,
    SEND = chronicle.quantile_sketch_send,
    INTERNALLENGTH = VARIABLE,
    STORAGE = extended
);
COMMENT ON TYPE chronicle.quantile_sketch IS
  'Mergeable percentile sketch with a relative-error guarantee: exact count, sum, min and max, log-spaced buckets. Text form qsketch:<base64>';
COMMENT ON FUNCTION chronicle.quantile_sketch_in(cstring) IS 'Text input of quantile_sketch (qsketch:<base64>), strictly validated';
COMMENT ON FUNCTION chronicle.quantile_sketch_out(chronicle.quantile_sketch) IS 'Text output of quantile_sketch';
COMMENT ON FUNCTION chronicle.quantile_sketch_recv(internal) IS 'Binary input of quantile_sketch, strictly validated';
COMMENT ON FUNCTION chronicle.quantile_sketch_send(chronicle.quantile_sketch) IS 'Binary output of quantile_sketch (its versioned little-endian format)';
"#,
    name = "quantile_sketch_type",
    requires = [
        "quantile_sketch_shell",
        quantile_sketch_in,
        quantile_sketch_out,
        quantile_sketch_recv,
        quantile_sketch_send
    ],
);
