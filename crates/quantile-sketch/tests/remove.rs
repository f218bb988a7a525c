//! Moving-aggregate support: `remove` as the inverse of `add`.

mod common;

use std::collections::VecDeque;

use common::*;
use quantile_sketch::QuantileSketch;

/// Slides a window over `data` the way PostgreSQL runs a moving aggregate:
/// add the entering row, remove the leaving one, and rebuild the frame from
/// scratch whenever `remove` declines.
fn slide(name: &str, data: &[f64], width: usize, alpha: f64) -> (usize, usize) {
    let mut window: VecDeque<f64> = VecDeque::new();
    let mut moving = QuantileSketch::new(alpha).unwrap();
    let (mut removed, mut rebuilt) = (0, 0);
    for (step, &v) in data.iter().enumerate() {
        moving.add(v).unwrap();
        window.push_back(v);
        if window.len() > width {
            let old = window.pop_front().unwrap();
            let before = moving.to_bytes();
            if moving.remove(old).unwrap() {
                removed += 1;
            } else {
                rebuilt += 1;
                // Declining must not have changed anything.
                assert_eq!(moving.to_bytes(), before);
                moving = sketch_of(window.make_contiguous(), alpha);
            }
        }
        let fresh = sketch_of(window.make_contiguous(), alpha);
        let sorted = sorted(window.make_contiguous());
        assert_eq!(moving.count(), fresh.count());
        assert_eq!(moving.min(), fresh.min(), "{name} step {step}");
        assert_eq!(moving.max(), fresh.max());
        assert_eq!(
            moving.sum().to_bits(),
            fresh.sum().to_bits(),
            "{name} step {step}"
        );
        assert_eq!(
            moving.mean().map(f64::to_bits),
            fresh.mean().map(f64::to_bits)
        );
        if moving.resolution() == fresh.resolution() {
            // Same resolution: the very same state as building from scratch.
            assert_eq!(moving.to_bytes(), fresh.to_bytes(), "{name} step {step}");
        } else {
            assert!(moving.resolution() < fresh.resolution());
        }
        if step % 7 == 0 {
            assert_accurate(name, &moving, &sorted, &QS);
        }
    }
    (removed, rebuilt)
}

#[test]
fn sliding_window_matches_fresh_sketch() {
    for (name, data) in datasets(3_000, 31) {
        let (removed, rebuilt) = slide(name, &data, 200, 0.01);
        assert!(removed > 0, "{name}");
        if name != "constant" && name != "integers" {
            // Continuous data: almost every removal succeeds.
            assert!(
                rebuilt * 20 < removed,
                "{name}: {rebuilt} rebuilds vs {removed}"
            );
        }
    }
}

#[test]
fn sliding_window_over_collapsing_data() {
    // Each window spans far more than the budget at 0.01%, so the moving
    // sketch collapses and keeps its coarser resolution afterwards.
    let mut r = Rng::new(8);
    let data: Vec<f64> = (0..1_500)
        .map(|_| 2f64.powf(r.unit() * 600.0 - 300.0))
        .collect();
    slide("wide", &data, 100, 0.0001);
}

#[test]
fn remove_declines_when_it_cannot_be_exact() {
    let mut s = sketch_of(&[1.0, 2.0, 2.0, 3.0], 0.01);
    let before = s.to_bytes();
    assert!(!s.remove(1.0).unwrap(), "last copy of the minimum");
    assert!(!s.remove(3.0).unwrap(), "last copy of the maximum");
    assert!(!s.remove(0.5).unwrap(), "below the minimum");
    assert!(!s.remove(7.0).unwrap(), "above the maximum");
    assert!(!s.remove(1.5).unwrap(), "empty bucket");
    assert!(!s.remove(0.0).unwrap(), "no zeros");
    assert!(s.remove(f64::NAN).is_err());
    assert_eq!(s.to_bytes(), before);
    assert!(s.remove(2.0).unwrap());
    assert!(s.remove(2.0).unwrap());
    assert!(!s.remove(2.0).unwrap(), "bucket is empty now");
    assert_eq!(s.count(), 2);
    assert_eq!(s.sum(), 4.0);
}

#[test]
fn remove_handles_duplicate_extremes_and_emptying() {
    let mut s = sketch_of(&[5.0, 5.0, 5.0], 0.01);
    assert!(s.remove(5.0).unwrap());
    assert!(s.remove(5.0).unwrap());
    assert_eq!(s.quantile(0.5).unwrap(), Some(5.0));
    assert!(
        s.remove(5.0).unwrap(),
        "removing the last value empties the sketch"
    );
    assert!(s.is_empty());
    assert_eq!(s, QuantileSketch::new(0.01).unwrap());
    assert!(!s.remove(5.0).unwrap());

    let mut s = sketch_of(&[-1.0, -1.0, 0.0, -0.0, 4.0, 4.0], 0.01);
    assert!(s.remove(-1.0).unwrap());
    assert!(s.remove(-0.0).unwrap());
    assert!(s.remove(4.0).unwrap());
    assert_eq!(s, sketch_of(&[-1.0, 0.0, 4.0], 0.01));
}

#[test]
fn resolution_never_increases_after_removals() {
    let mut s = sketch_of(&[1e-200, 1.0, 1e200, 1e200], 0.0001);
    let k = s.resolution();
    assert!(k < 12);
    assert!(!s.remove(1e-200).unwrap()); // last copy of the minimum
    let mut s = sketch_of(&[1e-200, 1e-200, 1.0, 1e200, 1e200], 0.0001);
    assert!(s.remove(1e-200).unwrap());
    assert!(s.remove(1e200).unwrap());
    assert_eq!(s.resolution(), k);
    // Still within its own reported error.
    let sorted = sorted(&[1e-200, 1.0, 1e200]);
    assert_accurate("after removal", &s, &sorted, &QS);
}
