//! The support functions behind the sketch aggregates (`percentile_agg`, `rollup`,
//! `approx_percentile`, `approx_percentiles`; the `CREATE AGGREGATE`s are in
//! sql/sketch.sql). The running state is an [`AggState`]: for the plain aggregates a
//! `chronicle.sketch_state` (src/sketch/state.rs), an expanded object changed in place
//! row after row and flattened only when PostgreSQL or Citus ships it; for the moving
//! (window) forms an `internal` state in the aggregate's memory context. Merging is
//! order-independent byte for byte, so serial, parallel and distributed plans give the
//! same sketch.

use pgrx::datum::Internal;
use pgrx::pg_sys;
use pgrx::prelude::*;
use pgrx::PgMemoryContexts;
use quantile_sketch::{QuantileSketch, DEFAULT_RELATIVE_ERROR};

use crate::errors::raise;
use crate::sketch::datum::Sketch;
use crate::sketch::state::{aggregate_context, read_state, state_for_update, StateDatum};
use crate::sketch::{check_quantile, sketch_error};

/// The running state of one sketch aggregate.
#[derive(Clone)]
pub struct AggState {
    sketch: QuantileSketch,
    /// What a one-step aggregate reports (`approx_percentile(s)`), taken from its first
    /// row; empty for the aggregates that return the sketch.
    quantiles: Vec<f64>,
}

impl AggState {
    /// The number of quantiles (u32 LE), the quantiles (f64 LE), then the sketch's binary
    /// format.
    pub fn to_bytes(&self) -> Vec<u8> {
        let sketch = self.sketch.to_bytes();
        let mut bytes = Vec::with_capacity(4 + 8 * self.quantiles.len() + sketch.len());
        bytes.extend_from_slice(
            &u32::try_from(self.quantiles.len())
                .unwrap_or(u32::MAX)
                .to_le_bytes(),
        );
        for quantile in &self.quantiles {
            bytes.extend_from_slice(&quantile.to_le_bytes());
        }
        bytes.extend_from_slice(&sketch);
        bytes
    }

    /// The state of `to_bytes`; None when the bytes are not one (the sketch's own errors
    /// are raised).
    pub fn from_bytes(bytes: &[u8]) -> Option<AggState> {
        let (count, rest) = bytes.split_first_chunk::<4>()?;
        let count = usize::try_from(u32::from_le_bytes(*count)).ok()?;
        let quantile_bytes = count.checked_mul(8).filter(|&len| len <= rest.len())?;
        let (quantiles, sketch) = rest.split_at(quantile_bytes);
        let quantiles: Vec<f64> = quantiles
            .chunks_exact(8)
            .map(|chunk| f64::from_le_bytes(chunk.try_into().expect("chunks of 8")))
            .collect();
        if quantiles.iter().any(|q| !(0.0..=1.0).contains(q)) {
            return None;
        }
        let sketch = QuantileSketch::from_bytes(sketch).unwrap_or_else(|error| sketch_error(error));
        Some(AggState { sketch, quantiles })
    }

    fn add(&mut self, value: f64) {
        self.sketch
            .add(value)
            .unwrap_or_else(|error| sketch_error(error));
    }

    fn merge(&mut self, sketch: &QuantileSketch) {
        self.sketch
            .merge(sketch)
            .unwrap_or_else(|error| sketch_error(error));
    }

    /// What `percentile_agg` and `rollup` return: the sketch; NULL when there were no values.
    fn sketch_result(&self) -> Option<Sketch> {
        (!self.sketch.is_empty()).then(|| Sketch(self.sketch.clone()))
    }

    /// What `approx_percentile` returns.
    fn percentile_result(&self) -> Option<f64> {
        let quantile = *self.quantiles.first()?;
        self.sketch
            .quantile(quantile)
            .unwrap_or_else(|error| sketch_error(error))
    }

    /// What `approx_percentiles` returns.
    fn percentiles_result(&self) -> Option<Vec<f64>> {
        self.sketch
            .quantiles(&self.quantiles)
            .unwrap_or_else(|error| sketch_error(error))
    }

    /// `q=<quantiles, comma separated>;<the sketch's text>`.
    pub fn to_text(&self) -> String {
        let quantiles: Vec<String> = self.quantiles.iter().map(|q| format!("{q:?}")).collect();
        format!("q={};{}", quantiles.join(","), self.sketch.to_text())
    }

    pub fn from_text(text: &str) -> Option<AggState> {
        let (quantiles, sketch) = text.strip_prefix("q=")?.split_once(';')?;
        let quantiles = if quantiles.is_empty() {
            Vec::new()
        } else {
            quantiles
                .split(',')
                .map(|q| q.parse::<f64>().ok().filter(|q| (0.0..=1.0).contains(q)))
                .collect::<Option<Vec<f64>>>()?
        };
        let sketch = QuantileSketch::from_text(sketch).unwrap_or_else(|error| sketch_error(error));
        Some(AggState { sketch, quantiles })
    }
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
            existing.add(value);
            state
        }
        None => {
            let mut fresh = new_state();
            fresh.add(value);
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

/// The state of `percentile_agg(value, relative_error)`, from its first row.
fn state_with_error(relative_error: Option<f64>) -> AggState {
    let Some(relative_error) = relative_error else {
        raise(
            PgSqlErrorCode::ERRCODE_NULL_VALUE_NOT_ALLOWED,
            "relative_error must not be NULL",
        )
    };
    plain_state(Some(relative_error))
}

/// The state of `approx_percentile(value, quantile)`, from its first row.
fn percentile_state(quantile: Option<f64>) -> AggState {
    AggState {
        sketch: sketch_with_error(None),
        quantiles: vec![check_quantile(quantile)],
    }
}

/// The state of `approx_percentiles(value, quantiles)`, from its first row.
fn percentiles_state(quantiles: Option<QuantilesArg>) -> AggState {
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
    add(state, value, fcinfo, || state_with_error(relative_error))
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
    add(state, value, fcinfo, || percentile_state(quantile))
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
    add(state, value, fcinfo, || percentiles_state(quantiles))
}

#[pg_extern(immutable, parallel_safe)]
fn percentiles_inv(
    state: Internal,
    value: Option<f64>,
    _quantiles: Option<QuantilesArg>,
) -> Option<Internal> {
    remove(state, value)
}

/// The sketch of the aggregated values; NULL when there were none.
#[pg_extern(immutable, strict, parallel_safe)]
fn sketch_final(mut state: Internal) -> Option<Sketch> {
    state_of(&mut state)?.sketch_result()
}

#[pg_extern(immutable, strict, parallel_safe)]
fn percentile_final(mut state: Internal) -> Option<f64> {
    state_of(&mut state)?.percentile_result()
}

#[pg_extern(immutable, strict, parallel_safe)]
fn percentiles_final(mut state: Internal) -> Option<Vec<f64>> {
    state_of(&mut state)?.percentiles_result()
}

// The plain (non-window) aggregates keep their state in a `chronicle.sketch_state`
// (src/sketch/state.rs), changed in place row after row; the window forms above keep an
// `internal` state, which they can shrink again.

/// Adds `value` to the state in place, creating it (with `fresh`) on the first value.
fn add_to_state(
    state: Option<StateDatum>,
    value: Option<f64>,
    fcinfo: pg_sys::FunctionCallInfo,
    fresh: impl FnOnce() -> AggState,
) -> Option<StateDatum> {
    let Some(value) = value else {
        return state;
    };
    let (state, existing) = state_for_update(state, fcinfo, fresh);
    existing.add(value);
    Some(state)
}

#[pg_extern(immutable, parallel_safe)]
fn sketch_state_trans(
    state: Option<StateDatum>,
    value: Option<f64>,
    fcinfo: pg_sys::FunctionCallInfo,
) -> Option<StateDatum> {
    add_to_state(state, value, fcinfo, || plain_state(None))
}

#[pg_extern(immutable, parallel_safe)]
fn sketch_state_trans_with_error(
    state: Option<StateDatum>,
    value: Option<f64>,
    relative_error: Option<f64>,
    fcinfo: pg_sys::FunctionCallInfo,
) -> Option<StateDatum> {
    add_to_state(state, value, fcinfo, || state_with_error(relative_error))
}

#[pg_extern(immutable, parallel_safe)]
fn percentile_state_trans(
    state: Option<StateDatum>,
    value: Option<f64>,
    quantile: Option<f64>,
    fcinfo: pg_sys::FunctionCallInfo,
) -> Option<StateDatum> {
    add_to_state(state, value, fcinfo, || percentile_state(quantile))
}

#[pg_extern(immutable, parallel_safe)]
fn percentiles_state_trans(
    state: Option<StateDatum>,
    value: Option<f64>,
    quantiles: Option<QuantilesArg>,
    fcinfo: pg_sys::FunctionCallInfo,
) -> Option<StateDatum> {
    add_to_state(state, value, fcinfo, || percentiles_state(quantiles))
}

/// `rollup(quantile_sketch)`: merges sketches, skipping NULLs. Sketches of different
/// resolutions merge at the coarser one.
#[pg_extern(immutable, parallel_safe)]
fn rollup_state_trans(
    state: Option<StateDatum>,
    sketch: Option<Sketch>,
    fcinfo: pg_sys::FunctionCallInfo,
) -> Option<StateDatum> {
    let Some(Sketch(sketch)) = sketch else {
        return state;
    };
    let Some(state) = state else {
        let (state, _) = state_for_update(None, fcinfo, || AggState {
            sketch,
            quantiles: Vec::new(),
        });
        return Some(state);
    };
    let (state, existing) =
        state_for_update(Some(state), fcinfo, || unreachable!("a state was given"));
    existing.merge(&sketch);
    Some(state)
}

/// Merges two partial states (parallel plans; Citus's workers into its coordinator).
#[pg_extern(immutable, strict, parallel_safe)]
fn sketch_state_combine(
    first: StateDatum,
    second: StateDatum,
    fcinfo: pg_sys::FunctionCallInfo,
) -> StateDatum {
    let other = read_state(second);
    let (state, existing) =
        state_for_update(Some(first), fcinfo, || unreachable!("a state was given"));
    existing.merge(&other.sketch);
    if existing.quantiles.is_empty() {
        existing.quantiles.clone_from(&other.quantiles);
    }
    state
}

#[pg_extern(immutable, strict, parallel_safe)]
fn sketch_state_final(state: StateDatum) -> Option<Sketch> {
    read_state(state).sketch_result()
}

#[pg_extern(immutable, strict, parallel_safe)]
fn percentile_state_final(state: StateDatum) -> Option<f64> {
    read_state(state).percentile_result()
}

#[pg_extern(immutable, strict, parallel_safe)]
fn percentiles_state_final(state: StateDatum) -> Option<Vec<f64>> {
    read_state(state).percentiles_result()
}
