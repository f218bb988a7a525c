//! Merge order independence and the exact sum.

mod common;

use common::*;
use quantile_sketch::QuantileSketch;

/// Merges `parts` pairwise in a random tree shape.
fn merge_tree(mut parts: Vec<QuantileSketch>, r: &mut Rng) -> QuantileSketch {
    while parts.len() > 1 {
        let i = r.below(parts.len());
        let a = parts.swap_remove(i);
        let j = r.below(parts.len());
        let mut b = parts.swap_remove(j);
        // Random direction, so both `a.merge(b)` and `b.merge(a)` happen.
        let merged = if r.below(2) == 0 {
            let mut a = a;
            a.merge(&b).unwrap();
            a
        } else {
            b.merge(&a).unwrap();
            b
        };
        parts.push(merged);
    }
    parts.pop().unwrap()
}

fn split(data: &[f64], parts: usize, r: &mut Rng) -> Vec<Vec<f64>> {
    let mut out = vec![Vec::new(); parts];
    for &v in data {
        out[r.below(parts)].push(v);
    }
    out
}

#[test]
fn merge_is_byte_identical_in_any_order_and_shape() {
    let mut r = Rng::new(42);
    for (name, data) in datasets(30_000, 1) {
        let chunks = split(&data, 16, &mut r);
        // Different requested errors put the parts on different levels.
        let alphas = [0.01, 0.001, 0.05, 0.2, 0.0001];
        let parts: Vec<QuantileSketch> = chunks
            .iter()
            .enumerate()
            .map(|(i, c)| sketch_of(c, alphas[i % alphas.len()]))
            .collect();
        let mut reference: Option<Vec<u8>> = None;
        for round in 0..12 {
            let mut shuffled = parts.clone();
            r.shuffle(&mut shuffled);
            let merged = if round % 3 == 0 {
                // Left fold.
                let mut acc = shuffled[0].clone();
                for p in &shuffled[1..] {
                    acc.merge(p).unwrap();
                }
                acc
            } else {
                merge_tree(shuffled, &mut r)
            };
            let bytes = merged.to_bytes();
            match &reference {
                None => {
                    assert_eq!(merged.count(), data.len() as u64);
                    let sorted = sorted(&data);
                    assert_accurate(name, &merged, &sorted, &QS);
                    reference = Some(bytes);
                }
                Some(b) => assert_eq!(&bytes, b, "{name}: round {round}"),
            }
        }
    }
}

#[test]
fn merging_parts_equals_building_directly() {
    let mut r = Rng::new(9);
    for (name, data) in datasets(20_000, 2) {
        for alpha in [0.01, 0.0001] {
            let direct = sketch_of(&data, alpha);
            let parts: Vec<QuantileSketch> = split(&data, 7, &mut r)
                .iter()
                .map(|c| sketch_of(c, alpha))
                .collect();
            let merged = merge_tree(parts, &mut r);
            assert_eq!(merged.to_bytes(), direct.to_bytes(), "{name} at {alpha}");
            assert_eq!(merged, direct);
        }
    }
}

#[test]
fn forced_collapses_still_merge_identically() {
    // Each part alone fits at level 12; together they need several collapses.
    let mut r = Rng::new(77);
    let parts: Vec<QuantileSketch> = (0..10)
        .map(|p| {
            let data: Vec<f64> = (0..2_000)
                .map(|_| {
                    let sign = if p % 3 == 0 { -1.0 } else { 1.0 };
                    sign * 2f64.powf(p as f64 * 40.0 - 200.0 + r.unit() * 0.9)
                })
                .collect();
            sketch_of(&data, 0.0001)
        })
        .collect();
    for p in &parts {
        assert_eq!(p.resolution(), 12);
    }
    let mut reference = None;
    for _ in 0..10 {
        let mut shuffled = parts.clone();
        r.shuffle(&mut shuffled);
        let merged = merge_tree(shuffled, &mut r);
        assert!(merged.resolution() < 12);
        let bytes = merged.to_bytes();
        assert_eq!(reference.get_or_insert_with(|| bytes.clone()), &bytes);
    }
}

#[test]
fn merging_with_empty_sketches() {
    let data = [3.0, -1.0, 0.0, 8.5];
    let full = sketch_of(&data, 0.01);
    let mut a = full.clone();
    a.merge(&QuantileSketch::new(0.01).unwrap()).unwrap();
    assert_eq!(a, full);
    let mut e = QuantileSketch::new(0.01).unwrap();
    e.merge(&full).unwrap();
    assert_eq!(e, full);
    // An empty coarser sketch still coarsens the result, so that the
    // outcome does not depend on the order of the inputs.
    let mut c = full.clone();
    c.merge(&QuantileSketch::new(0.2).unwrap()).unwrap();
    assert_eq!(
        c.resolution(),
        QuantileSketch::new(0.2).unwrap().resolution()
    );
    let mut d = QuantileSketch::new(0.2).unwrap();
    d.merge(&full).unwrap();
    assert_eq!(c.to_bytes(), d.to_bytes());
}

#[test]
fn sum_is_exact_and_order_independent() {
    let mut r = Rng::new(5);
    let mut values = vec![0.1; 1000];
    values.extend(vec![0.2; 1000]);
    values.extend(vec![-0.3; 1000]);
    let first = sketch_of(&values, 0.01).sum();
    for _ in 0..20 {
        r.shuffle(&mut values);
        assert_eq!(sketch_of(&values, 0.01).sum().to_bits(), first.to_bits());
    }
    // Exact reference: fl(0.1) = m1 * 2^-56 etc., summed as integers.
    let units = |x: f64| -> i128 { (x * 2f64.powi(60)) as i128 }; // exact for these
    let exact: i128 = values.iter().map(|&v| units(v)).sum();
    assert_eq!(first, exact as f64 / 2f64.powi(60));
    // Naive floating-point summation is order dependent; ours is not.
    let naive: f64 = values.iter().sum();
    assert!((naive - first).abs() < 1e-9);
}

#[test]
fn sum_matches_integer_reference() {
    let mut r = Rng::new(6);
    for round in 0..50 {
        // Random multiples of 2^-40 with up to 60 significant bits, so the
        // exact sum fits an i128 and `as f64` rounds it correctly.
        let n = 1 + r.below(3000);
        let ints: Vec<i64> = (0..n)
            .map(|_| {
                (r.next_u64() >> (4 + round % 50)) as i64 * if r.below(2) == 0 { 1 } else { -1 }
            })
            .collect();
        let scale = 2f64.powi(-40);
        let values: Vec<f64> = ints.iter().map(|&i| i as f64 * scale).collect();
        let exact: i128 = values.iter().map(|&v| (v / scale) as i128).sum();
        let sketch = sketch_of(&values, 0.01);
        assert_eq!(sketch.sum(), exact as f64 * scale, "round {round}");
        // mean: exact / n correctly rounded, checked against i128 division
        // when the quotient is exact.
        if exact % n as i128 == 0 {
            assert_eq!(sketch.mean(), Some((exact / n as i128) as f64 * scale));
        }
        let m = sketch.mean().unwrap();
        assert!(m >= sketch.min().unwrap() && m <= sketch.max().unwrap());
    }
}

#[test]
fn sum_survives_catastrophic_cancellation_and_overflow() {
    let s = sketch_of(&[1e308, 1.0, 1e308, -1e308, -1e308], 0.01);
    assert_eq!(s.sum(), 1.0);
    assert_eq!(s.mean(), Some(0.2));
    let big = sketch_of(&[f64::MAX, f64::MAX, f64::MAX], 0.01);
    assert_eq!(big.sum(), f64::INFINITY);
    assert_eq!(big.mean(), Some(f64::MAX));
    let tiny = sketch_of(&[5e-324, 5e-324, 5e-324, 0.0], 0.01);
    assert_eq!(tiny.sum(), 1.5e-323);
    assert_eq!(tiny.mean(), Some(5e-324)); // 0.75 units rounds to 1 unit
}
