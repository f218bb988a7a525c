//! The support functions behind the sketch aggregates (`percentile_agg`, `rollup`,
//! `approx_percentile`, `approx_percentiles`; the `CREATE AGGREGATE`s are in
//! sql/sketch.sql). The transition state is an [`AggState`] in the aggregate's memory
//! context, passed around as `internal` and dropped with that context, so a sketch is
//! built in place without re-encoding it per row. Serialization (for parallel workers)
//! uses the sketch's own binary format, and merging is order-independent byte for byte,
//! so serial and parallel plans give the same sketch.

use pgrx::datum::Internal;
use pgrx::pg_sys;
use pgrx::prelude::*;
use pgrx::PgMemoryContexts;
use quantile_sketch::{QuantileSketch, DEFAULT_RELATIVE_ERROR};

use crate::errors::raise;
use crate::sketch::datum::Sketch;
use crate::sketch::{check_quantile, sketch_error};

/// The running state of one sketch aggregate.
struct AggState {
    sketch: QuantileSketch,
    /// What a one-step aggregate reports (`approx_percentile(s)`), taken from its first
    /// row; empty for the aggregates that return the sketch.
    quantiles: Vec<f64>,
}

/// The memory context that outlives the rows of the current aggregate.
fn aggregate_context(fcinfo: pg_sys::FunctionCallInfo) -> pg_sys::MemoryContext {
    let mut context = std::ptr::null_mut();
    if unsafe { pg_sys::AggCheckCallContext(fcinfo, &mut context) } == 0 {
        raise(
            PgSqlErrorCode::ERRCODE_FEATURE_NOT_SUPPORTED,
            "quantile sketch transition functions can only be called by an aggregate",
        );
    }
    context
}

/// Moves `state` into `context`, to be dropped when the context is reset or deleted.
fn into_internal(context: pg_sys::MemoryContext, state: AggState) -> Internal {
    let pointer = PgMemoryContexts::For(context).leak_and_drop_on_delete(state);
    Internal::from(Some(pg_sys::Datum::from(pointer)))
}

fn state_of(state: &mut Internal) -> Option<&mut AggState> {
    // SAFETY: every `internal` these functions receive was made by `into_internal`.
    unsafe { state.get_mut::<AggState>() }
}

/// Adds `value` to the state, creating it (with `new_sketch`) on the first value.
fn add(
    mut state: Internal,
    value: Option<f64>,
    fcinfo: pg_sys::FunctionCallInfo,
    new_state: impl FnOnce() -> AggState,
) -> Internal {
    let Some(value) = value else {
        return state;
    };
    match state_of(&mut state) {
        Some(existing) => {
            existing
                .sketch
                .add(value)
                .unwrap_or_else(|error| sketch_error(error));
            state
        }
        None => {
            let mut fresh = new_state();
            fresh
                .sketch
                .add(value)
                .unwrap_or_else(|error| sketch_error(error));
            into_internal(aggregate_context(fcinfo), fresh)
        }
    }
}

/// The inverse of [`add`] for moving-aggregate (window) mode. Returns NULL when the
/// sketch cannot be sure of the result, which makes PostgreSQL recompute the frame.
fn remove(mut state: Internal, value: Option<f64>) -> Option<Internal> {
    let Some(value) = value else {
        return Some(state);
    };
    let existing = state_of(&mut state)?;
    match existing.sketch.remove(value) {
        Ok(true) => Some(state),
        Ok(false) | Err(_) => None,
    }
}

fn sketch_with_error(relative_error: Option<f64>) -> QuantileSketch {
    QuantileSketch::new(relative_error.unwrap_or(DEFAULT_RELATIVE_ERROR))
        .unwrap_or_else(|error| sketch_error(error))
}

fn plain_state(relative_error: Option<f64>) -> AggState {
    AggState {
        sketch: sketch_with_error(relative_error),
        quantiles: Vec::new(),
    }
}

#[pg_extern(immutable, parallel_safe)]
fn sketch_trans(state: Internal, value: Option<f64>, fcinfo: pg_sys::FunctionCallInfo) -> Internal {
    add(state, value, fcinfo, || plain_state(None))
}

#[pg_extern(immutable, parallel_safe)]
fn sketch_trans_with_error(
    state: Internal,
    value: Option<f64>,
    relative_error: Option<f64>,
    fcinfo: pg_sys::FunctionCallInfo,
) -> Internal {
    add(state, value, fcinfo, || {
        let Some(relative_error) = relative_error else {
            raise(
                PgSqlErrorCode::ERRCODE_NULL_VALUE_NOT_ALLOWED,
                "relative_error must not be NULL",
            )
        };
        plain_state(Some(relative_error))
    })
}

#[pg_extern(immutable, parallel_safe)]
fn sketch_inv(state: Internal, value: Option<f64>) -> Option<Internal> {
    remove(state, value)
}

#[pg_extern(immutable, parallel_safe)]
fn sketch_inv_with_error(
    state: Internal,
    value: Option<f64>,
    _relative_error: Option<f64>,
) -> Option<Internal> {
    remove(state, value)
}

#[pg_extern(immutable, parallel_safe)]
fn percentile_trans(
    state: Internal,
    value: Option<f64>,
    quantile: Option<f64>,
    fcinfo: pg_sys::FunctionCallInfo,
) -> Internal {
    add(state, value, fcinfo, || AggState {
        sketch: sketch_with_error(None),
        quantiles: vec![check_quantile(quantile)],
    })
}

#[pg_extern(immutable, parallel_safe)]
fn percentile_inv(state: Internal, value: Option<f64>, _quantile: Option<f64>) -> Option<Internal> {
    remove(state, value)
}

/// The quantiles argument of `approx_percentiles(value, quantiles)`, left undecoded: it
/// comes with every row, but only the first row's is read, and decoding an array per row
/// cost more than the rest of the aggregate.
pub struct QuantilesArg(pg_sys::Datum);

pgrx::impl_sql_translatable!(QuantilesArg, "double precision[]");

impl FromDatum for QuantilesArg {
    unsafe fn from_polymorphic_datum(
        datum: pg_sys::Datum,
        is_null: bool,
        _: pg_sys::Oid,
    ) -> Option<Self> {
        (!is_null).then_some(QuantilesArg(datum))
    }
}

impl IntoDatum for QuantilesArg {
    fn into_datum(self) -> Option<pg_sys::Datum> {
        Some(self.0)
    }

    fn type_oid() -> pg_sys::Oid {
        pg_sys::FLOAT8ARRAYOID
    }
}

function_abi_via_datum!(QuantilesArg);

impl QuantilesArg {
    fn decode(self) -> Vec<f64> {
        // SAFETY: a non-null double precision[] datum, alive for the current call.
        let quantiles = unsafe {
            Vec::<Option<f64>>::from_polymorphic_datum(self.0, false, pg_sys::FLOAT8ARRAYOID)
        };
        quantiles
            .unwrap_or_default()
            .into_iter()
            .map(check_quantile)
            .collect()
    }
}

#[pg_extern(immutable, parallel_safe)]
fn percentiles_trans(
    state: Internal,
    value: Option<f64>,
    quantiles: Option<QuantilesArg>,
    fcinfo: pg_sys::FunctionCallInfo,
) -> Internal {
    add(state, value, fcinfo, || {
        let Some(quantiles) = quantiles else {
            raise(
                PgSqlErrorCode::ERRCODE_NULL_VALUE_NOT_ALLOWED,
                "quantiles must not be NULL",
            )
        };
        AggState {
            sketch: sketch_with_error(None),
            quantiles: quantiles.decode(),
        }
    })
}

#[pg_extern(immutable, parallel_safe)]
fn percentiles_inv(
    state: Internal,
    value: Option<f64>,
    _quantiles: Option<QuantilesArg>,
) -> Option<Internal> {
    remove(state, value)
}

/// `rollup(quantile_sketch)`: merges sketches, skipping NULLs. Sketches of different
/// resolutions merge at the coarser one.
#[pg_extern(immutable, parallel_safe)]
fn rollup_trans(
    mut state: Internal,
    sketch: Option<Sketch>,
    fcinfo: pg_sys::FunctionCallInfo,
) -> Internal {
    let Some(Sketch(sketch)) = sketch else {
        return state;
    };
    match state_of(&mut state) {
        Some(existing) => {
            existing
                .sketch
                .merge(&sketch)
                .unwrap_or_else(|error| sketch_error(error));
            state
        }
        None => into_internal(
            aggregate_context(fcinfo),
            AggState {
                sketch,
                quantiles: Vec::new(),
            },
        ),
    }
}

#[pg_extern(immutable, parallel_safe)]
fn sketch_combine(
    mut first: Internal,
    mut second: Internal,
    fcinfo: pg_sys::FunctionCallInfo,
) -> Internal {
    let Some(other) = state_of(&mut second) else {
        return first;
    };
    match state_of(&mut first) {
        Some(existing) => {
            existing
                .sketch
                .merge(&other.sketch)
                .unwrap_or_else(|error| sketch_error(error));
            if existing.quantiles.is_empty() {
                existing.quantiles.clone_from(&other.quantiles);
            }
            first
        }
        // `second` may live in short-lived memory: keep a copy in the aggregate's context.
        None => into_internal(
            aggregate_context(fcinfo),
            AggState {
                sketch: other.sketch.clone(),
                quantiles: other.quantiles.clone(),
            },
        ),
    }
}

/// Serialized state: the number of quantiles (u32 LE), the quantiles (f64 LE), then the
/// sketch's binary format.
#[pg_extern(immutable, strict, parallel_safe)]
fn sketch_serialize(mut state: Internal) -> Vec<u8> {
    let state = state_of(&mut state).expect("a strict serialize function gets a state");
    let sketch = state.sketch.to_bytes();
    let mut bytes = Vec::with_capacity(4 + 8 * state.quantiles.len() + sketch.len());
    bytes.extend_from_slice(
        &u32::try_from(state.quantiles.len())
            .unwrap_or(u32::MAX)
            .to_le_bytes(),
    );
    for quantile in &state.quantiles {
        bytes.extend_from_slice(&quantile.to_le_bytes());
    }
    bytes.extend_from_slice(&sketch);
    bytes
}

#[pg_extern(immutable, strict, parallel_safe)]
fn sketch_deserialize(bytes: &[u8], _unused: Internal) -> Internal {
    let state = decode_state(bytes).unwrap_or_else(|| {
        raise(
            PgSqlErrorCode::ERRCODE_INVALID_BINARY_REPRESENTATION,
            "malformed quantile sketch aggregate state",
        )
    });
    // Deserialized states are only read by the combine function, in the current
    // (per-call) context.
    into_internal(unsafe { pg_sys::CurrentMemoryContext }, state)
}

fn decode_state(bytes: &[u8]) -> Option<AggState> {
    let (count, rest) = bytes.split_first_chunk::<4>()?;
    let count = usize::try_from(u32::from_le_bytes(*count)).ok()?;
    let quantile_bytes = count.checked_mul(8).filter(|&len| len <= rest.len())?;
    let (quantiles, sketch) = rest.split_at(quantile_bytes);
    let quantiles = quantiles
        .chunks_exact(8)
        .map(|chunk| f64::from_le_bytes(chunk.try_into().expect("chunks of 8")))
        .collect();
    let sketch = QuantileSketch::from_bytes(sketch).unwrap_or_else(|error| sketch_error(error));
    Some(AggState { sketch, quantiles })
}

/// The sketch of the aggregated values; NULL when there were none.
#[pg_extern(immutable, strict, parallel_safe)]
fn sketch_final(mut state: Internal) -> Option<Sketch> {
    let state = state_of(&mut state)?;
    (!state.sketch.is_empty()).then(|| Sketch(state.sketch.clone()))
}

#[pg_extern(immutable, strict, parallel_safe)]
fn percentile_final(mut state: Internal) -> Option<f64> {
    let state = state_of(&mut state)?;
    let quantile = *state.quantiles.first()?;
    state
        .sketch
        .quantile(quantile)
        .unwrap_or_else(|error| sketch_error(error))
}

#[pg_extern(immutable, strict, parallel_safe)]
fn percentiles_final(mut state: Internal) -> Option<Vec<f64>> {
    let state = state_of(&mut state)?;
    state
        .sketch
        .quantiles(&state.quantiles)
        .unwrap_or_else(|error| sketch_error(error))
}
