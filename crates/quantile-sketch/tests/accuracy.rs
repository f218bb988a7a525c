//! Quantile accuracy against an exact `percentile_disc`.

mod common;

use common::*;
use quantile_sketch::{QuantileSketch, DEFAULT_RELATIVE_ERROR, MAX_BUCKETS};

/// The relative-error bound of resolution `k` as documented: `(gamma - 1) / (gamma + 1)`
/// with `gamma = 2^(1/2^k)`, plus the margin of 4e-15 for rounding.
fn level_bound(k: u32) -> f64 {
    let gamma = 2f64.powf(1.0 / f64::from(1u32 << k));
    (gamma - 1.0) / (gamma + 1.0) + 4e-15
}

/// The resolution a sketch of `data` requested at level `requested` must end at: the
/// finest one, no finer than requested, at which the buckets from the smallest to the
/// largest magnitude of each sign span at most `MAX_BUCKETS` together (bucket `i` of
/// level `k` holding magnitudes from `2^(i/2^k)` up to `2^((i+1)/2^k)`). Worked out
/// with f64 logarithms, so each bucket index may be one off: `None` when a span is too
/// close to the budget to tell.
fn expected_resolution(data: &[f64], requested: u32) -> Option<u32> {
    let magnitudes = |negative: bool| {
        let mut side = data
            .iter()
            .filter(|&&v| v != 0.0 && (v < 0.0) == negative)
            .map(|v| v.abs());
        let first = side.next()?;
        Some(side.fold((first, first), |(lo, hi), v| (lo.min(v), hi.max(v))))
    };
    let sides = [magnitudes(false), magnitudes(true)];
    for k in (0..=requested).rev() {
        let index = |x: f64| (x.log2() * f64::from(1u32 << k)).floor() as i64;
        let span: i64 = sides
            .iter()
            .flatten()
            .map(|&(lo, hi)| index(hi) - index(lo) + 1)
            .sum();
        let uncertainty = 2 * sides.iter().flatten().count() as i64;
        if span + uncertainty <= MAX_BUCKETS as i64 {
            return Some(k);
        }
        if span - uncertainty <= MAX_BUCKETS as i64 {
            return None;
        }
    }
    Some(0)
}

#[test]
fn estimates_are_within_relative_error_of_percentile_disc() {
    let mut r = Rng::new(7);
    let mut qs: Vec<f64> = QS.to_vec();
    qs.extend((0..200).map(|_| r.unit()));
    let (mut kept, mut collapsed) = (0, 0);
    for alpha in [0.01, 0.05, 0.001, 0.0001, 0.3] {
        let requested = QuantileSketch::new(alpha).unwrap();
        assert!(requested.relative_error() <= alpha);
        for (name, data) in datasets(20_000, 11) {
            let name = format!("{name} at {alpha}");
            let sketch = sketch_of(&data, alpha);
            let expected = expected_resolution(&data, requested.resolution());
            assert!(
                expected.is_some(),
                "{name}: too close to the bucket budget to check"
            );
            // Only a collapse that the bucket budget forces, and no more than it forces.
            assert_eq!(Some(sketch.resolution()), expected, "{name}");
            let bound = if sketch.resolution() == requested.resolution() {
                kept += 1;
                requested.relative_error()
            } else {
                collapsed += 1;
                level_bound(sketch.resolution())
            };
            assert!((sketch.relative_error() - bound).abs() < 1e-15, "{name}");
            let sorted = sorted(&data);
            assert_eq!(sketch.count(), data.len() as u64);
            assert_eq!(sketch.min(), Some(sorted[0]));
            assert_eq!(sketch.max(), Some(sorted[sorted.len() - 1]));
            assert_accurate_within(&name, &sketch, &sorted, &qs, bound);
        }
    }
    // Both kinds of sketches were checked.
    assert!(
        kept >= 20 && collapsed >= 5,
        "{kept} kept, {collapsed} collapsed"
    );
}

#[test]
fn requested_error_maps_to_the_coarsest_sufficient_level() {
    let s = QuantileSketch::new(DEFAULT_RELATIVE_ERROR).unwrap();
    assert_eq!(s.resolution(), 6);
    assert!(s.relative_error() < 0.01 && s.relative_error() > 0.005);
    for alpha in [0.4999, 0.3, 0.1, 0.05, 0.02, 0.01, 0.005, 0.001, 0.0001] {
        let s = QuantileSketch::new(alpha).unwrap();
        assert!(s.relative_error() <= alpha);
        if s.resolution() > 0 {
            // One level coarser squares gamma; that would not be enough.
            let a = s.relative_error();
            let gamma2 = ((1.0 + a) / (1.0 - a)).powi(2);
            assert!((gamma2 - 1.0) / (gamma2 + 1.0) > alpha, "{alpha}");
        }
    }
    for bad in [0.0, -0.1, 0.5, 0.7, f64::NAN, f64::INFINITY, 1e-5] {
        let err = QuantileSketch::new(bad).unwrap_err();
        assert!(err.to_string().contains("relative error"), "{err}");
    }
    assert_eq!(
        QuantileSketch::new(1e-5).unwrap_err().to_string(),
        "quantile sketch relative error must be at least 0.0001 and less than 0.5, got 0.00001"
    );
    assert_eq!(QuantileSketch::new(0.0001).unwrap().resolution(), 12);
}

#[test]
fn constant_data_gives_exact_answers() {
    let sketch = sketch_of(&vec![1.0; 10_000], 0.01);
    for q in QS {
        assert_eq!(sketch.quantile(q).unwrap(), Some(1.0));
    }
    assert_eq!(sketch.sum(), 10_000.0);
    assert_eq!(sketch.mean(), Some(1.0));
    assert_eq!(sketch.percentile_rank(1.0).unwrap(), Some(1.0));
    assert_eq!(sketch.percentile_rank(0.999).unwrap(), Some(0.0));
}

#[test]
fn small_samples_match_exactly_at_extremes() {
    for n in 1..40 {
        let data: Vec<f64> = (0..n).map(|i| (i as f64 - 7.0) * 1.37).collect();
        let sketch = sketch_of(&data, 0.02);
        let sorted = sorted(&data);
        let qs: Vec<f64> = (0..=100).map(|i| i as f64 / 100.0).collect();
        assert_accurate(&format!("n={n}"), &sketch, &sorted, &qs);
    }
}

#[test]
fn zeros_and_signs_are_ordered_like_postgres() {
    let data = [-3.0, -0.0, 0.0, 0.0, 2.0, -1e-300, 1e300, -1e300];
    let sketch = sketch_of(&data, 0.01);
    let sorted = sorted(&data);
    let qs: Vec<f64> = (0..=64).map(|i| i as f64 / 64.0).collect();
    assert_accurate("signs", &sketch, &sorted, &qs);
    assert_eq!(sketch.min(), Some(-1e300));
    assert_eq!(sketch.quantile(0.5).unwrap(), Some(0.0));
    let zero = sketch_of(&[-0.0, -0.0], 0.01);
    assert_eq!(zero.min().unwrap().to_bits(), 0f64.to_bits(), "zero is +0");
    assert_eq!(
        zero.quantile(0.3).unwrap().unwrap().to_bits(),
        0f64.to_bits()
    );
}

#[test]
fn extreme_doubles_are_representable() {
    let data = [
        5e-324,
        1e-320,
        f64::MIN_POSITIVE,
        1.0,
        f64::MAX,
        -f64::MAX,
        -5e-324,
        -2.5e-310,
    ];
    for alpha in [0.01, 0.0001, 0.3] {
        let sketch = sketch_of(&data, alpha);
        let sorted = sorted(&data);
        let qs: Vec<f64> = (0..=16).map(|i| i as f64 / 16.0).collect();
        let estimates = sketch.quantiles(&qs).unwrap().unwrap();
        for (&q, &est) in qs.iter().zip(&estimates) {
            let exact = percentile_disc(&sorted, q);
            // Subnormals get an extra absolute error of half a subnormal ulp.
            assert!(
                (est - exact).abs() <= sketch.relative_error() * exact.abs() + 5e-324,
                "q={q}: {est} vs {exact}"
            );
        }
        assert_eq!(sketch.sum(), 1.0 + 1e-320 + f64::MIN_POSITIVE - 2.5e-310);
        assert!(sketch.buckets().map(|b| b.count).sum::<u64>() == data.len() as u64);
    }
}

#[test]
fn wide_data_collapses_within_budget_and_stays_accurate() {
    let mut r = Rng::new(3);
    let data: Vec<f64> = (0..50_000)
        .map(|_| {
            let sign = if r.below(3) == 0 { -1.0 } else { 1.0 };
            sign * 2f64.powf(r.unit() * 2000.0 - 1000.0)
        })
        .collect();
    let sketch = sketch_of(&data, 0.001);
    assert!(
        sketch.resolution() < 3,
        "resolution {}",
        sketch.resolution()
    );
    let buckets: Vec<_> = sketch.buckets().collect();
    let span_ok = buckets.len() <= MAX_BUCKETS;
    assert!(span_ok);
    let sorted = sorted(&data);
    let mut qs: Vec<f64> = QS.to_vec();
    qs.extend((0..100).map(|_| r.unit()));
    assert_accurate("wide", &sketch, &sorted, &qs);
}

#[test]
fn percentile_rank_is_bracketed_by_exact_ranks() {
    let mut r = Rng::new(5);
    for (name, data) in datasets(5_000, 21) {
        let sketch = sketch_of(&data, 0.01);
        let a = sketch.relative_error();
        let sorted = sorted(&data);
        let n = sorted.len() as f64;
        let frac_le = |x: f64| sorted.partition_point(|&v| v <= x) as f64 / n;
        let frac_lt = |x: f64| sorted.partition_point(|&v| v < x) as f64 / n;
        let mut probes: Vec<f64> = (0..300).map(|_| sorted[r.below(sorted.len())]).collect();
        probes.extend(
            (0..100).map(|_| sorted[r.below(sorted.len())] * (1.0 + (r.unit() - 0.5) * 0.05)),
        );
        probes.extend([
            0.0,
            sorted[0],
            sorted[sorted.len() - 1],
            f64::INFINITY,
            f64::NEG_INFINITY,
        ]);
        for x in probes {
            let got = sketch.percentile_rank(x).unwrap().unwrap();
            assert!((0.0..=1.0).contains(&got));
            let (low, high) = if x > 0.0 {
                (frac_lt(x / (1.0 + a)), frac_le(x / (1.0 - a)))
            } else if x < 0.0 {
                (frac_lt(x / (1.0 - a)), frac_le(x / (1.0 + a)))
            } else {
                (frac_le(0.0), frac_le(0.0))
            };
            assert!(
                got >= low && got <= high,
                "{name}: x={x} got {got} not in [{low}, {high}]"
            );
            if x < sorted[0] {
                assert_eq!(got, 0.0);
            }
            if x >= sorted[sorted.len() - 1] {
                assert_eq!(got, 1.0);
            }
        }
    }
    let s = sketch_of(&[1.0], 0.01);
    assert!(s.percentile_rank(f64::NAN).is_err());
    assert_eq!(
        QuantileSketch::default().percentile_rank(1.0).unwrap(),
        None
    );
}

#[test]
fn quantile_arguments_are_validated() {
    let s = sketch_of(&[1.0, 2.0], 0.01);
    for bad in [-0.01, 1.01, f64::NAN, f64::INFINITY] {
        let err = s.quantile(bad).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("quantile must be between 0 and 1"),
            "{err}"
        );
        assert!(s.quantiles(&[0.5, bad]).is_err());
    }
    let empty = QuantileSketch::default();
    assert_eq!(empty.quantile(0.5).unwrap(), None);
    assert_eq!(empty.quantiles(&[0.5, 0.9]).unwrap(), None);
    assert!(empty.quantile(2.0).is_err());
    assert_eq!(empty.min(), None);
    assert_eq!(empty.max(), None);
    assert_eq!(empty.mean(), None);
    assert_eq!(empty.sum(), 0.0);
    assert!(empty.is_empty());
    assert_eq!(empty.buckets().count(), 0);
}

#[test]
fn non_finite_values_are_rejected() {
    let mut s = QuantileSketch::default();
    s.add(1.0).unwrap();
    let before = s.to_bytes();
    for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        let err = s.add(bad).unwrap_err();
        assert!(err.to_string().contains("non-finite"), "{err}");
        assert!(s.remove(bad).is_err());
    }
    assert_eq!(
        s.add(f64::NAN).unwrap_err().to_string(),
        "quantile sketch cannot accept non-finite value NaN"
    );
    assert_eq!(s.to_bytes(), before);
}

#[test]
fn buckets_ascend_and_account_for_every_value() {
    for (name, data) in datasets(3_000, 8) {
        let sketch = sketch_of(&data, 0.05);
        let buckets: Vec<_> = sketch.buckets().collect();
        assert_eq!(
            buckets.iter().map(|b| b.count).sum::<u64>(),
            sketch.count(),
            "{name}"
        );
        for w in buckets.windows(2) {
            assert!(
                w[0].upper <= w[1].lower,
                "{name}: {:?} then {:?}",
                w[0],
                w[1]
            );
        }
        for b in &buckets {
            assert!(b.count > 0 && b.lower <= b.upper);
            let inside = data
                .iter()
                .filter(|&&v| {
                    let v = v + 0.0;
                    if b.lower == 0.0 && b.upper == 0.0 {
                        v == 0.0
                    } else if b.upper <= 0.0 {
                        v > b.lower && v <= b.upper
                    } else {
                        v >= b.lower && v < b.upper
                    }
                })
                .count();
            assert_eq!(inside as u64, b.count, "{name}: {b:?}");
        }
    }
}
