//! What can be read off a `chronicle.quantile_sketch`.

use pgrx::prelude::*;

use crate::sketch::{check_quantile, sketch_error, Sketch};

/// The estimate of `percentile_disc(quantile)` over the sketched values.
#[pg_extern(immutable, strict, parallel_safe)]
fn approx_percentile(sketch: Sketch, quantile: f64) -> Option<f64> {
    sketch
        .0
        .quantile(check_quantile(Some(quantile)))
        .unwrap_or_else(|error| sketch_error(error))
}

#[pg_extern(immutable, strict, parallel_safe)]
fn approx_percentiles(sketch: Sketch, quantiles: Vec<Option<f64>>) -> Option<Vec<f64>> {
    let quantiles: Vec<f64> = quantiles.into_iter().map(check_quantile).collect();
    sketch
        .0
        .quantiles(&quantiles)
        .unwrap_or_else(|error| sketch_error(error))
}

/// The estimated fraction of sketched values less than or equal to `value`.
#[pg_extern(immutable, strict, parallel_safe)]
fn approx_percentile_rank(sketch: Sketch, value: f64) -> Option<f64> {
    sketch
        .0
        .percentile_rank(value)
        .unwrap_or_else(|error| sketch_error(error))
}

#[pg_extern(immutable, strict, parallel_safe)]
fn num_vals(sketch: Sketch) -> i64 {
    i64::try_from(sketch.0.count()).unwrap_or(i64::MAX)
}

#[pg_extern(immutable, strict, parallel_safe)]
fn mean(sketch: Sketch) -> Option<f64> {
    sketch.0.mean()
}

#[pg_extern(immutable, strict, parallel_safe)]
fn min_val(sketch: Sketch) -> Option<f64> {
    sketch.0.min()
}

#[pg_extern(immutable, strict, parallel_safe)]
fn max_val(sketch: Sketch) -> Option<f64> {
    sketch.0.max()
}

/// The relative error every percentile estimate of this sketch is guaranteed to be
/// within (it grows when a sketch is coarsened to merge with a coarser one).
#[pg_extern(immutable, strict, parallel_safe)]
fn relative_error(sketch: Sketch) -> f64 {
    sketch.0.relative_error()
}

/// The sketch's histogram, one row per non-empty bucket in ascending order of value.
#[pg_extern(immutable, strict, parallel_safe)]
fn histogram(
    sketch: Sketch,
) -> TableIterator<'static, (name!(lower, f64), name!(upper, f64), name!(count, i64))> {
    let rows: Vec<_> = sketch
        .0
        .buckets()
        .map(|bucket| {
            (
                bucket.lower,
                bucket.upper,
                i64::try_from(bucket.count).unwrap_or(i64::MAX),
            )
        })
        .collect();
    TableIterator::new(rows)
}
