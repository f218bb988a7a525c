//! `chronicle.quantile_sketch` and its aggregates: pgrx glue only. The algorithm lives
//! in `crates/quantile-sketch`.
//!
//! - `datum`: the SQL type and its text/binary I/O;
//! - `aggregate`: transition/combine/final functions (DDL in sql/sketch.sql);
//! - `state`: `chronicle.sketch_state`, the aggregates' state as a type Citus can ship;
//! - `accessors`: percentiles, rank, count/mean/min/max and the histogram of a sketch.

mod accessors;
mod aggregate;
mod datum;
mod state;

use pgrx::prelude::*;
use quantile_sketch::SketchError;

use crate::errors::raise;

pub use datum::Sketch;

extension_sql_file!(
    "../../sql/sketch.sql",
    name = "sketch_aggregates",
    requires = [
        "quantile_sketch_type",
        "sketch_state_type",
        aggregate::sketch_trans,
        aggregate::sketch_trans_with_error,
        aggregate::sketch_inv,
        aggregate::sketch_inv_with_error,
        aggregate::percentile_trans,
        aggregate::percentile_inv,
        aggregate::percentiles_trans,
        aggregate::percentiles_inv,
        aggregate::sketch_final,
        aggregate::percentile_final,
        aggregate::percentiles_final,
        aggregate::sketch_state_trans,
        aggregate::sketch_state_trans_with_error,
        aggregate::percentile_state_trans,
        aggregate::percentiles_state_trans,
        aggregate::rollup_state_trans,
        aggregate::sketch_state_combine,
        aggregate::sketch_state_final,
        aggregate::percentile_state_final,
        aggregate::percentiles_state_final,
        accessors::approx_percentile,
        accessors::approx_percentiles,
        accessors::approx_percentile_rank,
        accessors::num_vals,
        accessors::mean,
        accessors::min_val,
        accessors::max_val,
        accessors::relative_error,
        accessors::histogram,
    ]
);

/// Raises a sketch error with the SQLSTATE that fits it.
pub fn sketch_error(error: SketchError) -> ! {
    let code = match error {
        SketchError::NonFiniteValue(_) => PgSqlErrorCode::ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE,
        SketchError::CountOverflow => PgSqlErrorCode::ERRCODE_PROGRAM_LIMIT_EXCEEDED,
        SketchError::MalformedBytes(_) => PgSqlErrorCode::ERRCODE_INVALID_BINARY_REPRESENTATION,
        SketchError::MalformedText(_) => PgSqlErrorCode::ERRCODE_INVALID_TEXT_REPRESENTATION,
        _ => PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
    };
    raise(code, error.to_string())
}

/// A quantile argument: not NULL, in [0, 1].
fn check_quantile(quantile: Option<f64>) -> f64 {
    match quantile {
        None => raise(
            PgSqlErrorCode::ERRCODE_NULL_VALUE_NOT_ALLOWED,
            "quantile must not be NULL",
        ),
        Some(q) if (0.0..=1.0).contains(&q) => q,
        Some(q) => sketch_error(SketchError::InvalidQuantile(q)),
    }
}
