//! Feeds arbitrary bytes to both decoders. Whatever decodes must re-encode
//! to exactly the same input (the encodings are canonical), survive a text
//! round trip, and answer every query without panicking.

#![no_main]

use libfuzzer_sys::fuzz_target;
use quantile_sketch::QuantileSketch;

const QS: [f64; 9] = [0.0, 0.01, 0.25, 0.5, 0.9, 0.99, 0.999, 1.0, 0.3333];

fn exercise(sketch: &QuantileSketch, original: &[u8]) {
    let bytes = sketch.to_bytes();
    assert_eq!(bytes, original, "decoded sketch re-encodes differently");
    let text = sketch.to_text();
    let back = QuantileSketch::from_text(&text).expect("own text must parse");
    assert_eq!(&back, sketch);

    match sketch.quantiles(&QS).unwrap() {
        None => assert!(sketch.is_empty()),
        Some(values) => {
            let (min, max) = (sketch.min().unwrap(), sketch.max().unwrap());
            assert_eq!(values[0], min);
            assert_eq!(values[7], max);
            for w in values[..8].windows(2) {
                assert!(w[0] <= w[1], "quantiles must be monotone");
            }
            for &v in &values {
                assert!(v >= min && v <= max);
            }
            let mean = sketch.mean().unwrap();
            assert!(mean >= min && mean <= max);
            for x in [min, max, 0.0, mean, -1.0, 1.0] {
                let r = sketch.percentile_rank(x).unwrap().unwrap();
                assert!((0.0..=1.0).contains(&r));
            }
            assert_eq!(
                sketch.buckets().map(|b| b.count).sum::<u64>(),
                sketch.count()
            );
        }
    }
    let _ = sketch.sum();

    // Merging with itself doubles the count and keeps a valid encoding.
    let mut doubled = sketch.clone();
    if doubled.merge(sketch).is_ok() {
        let reparsed =
            QuantileSketch::from_bytes(&doubled.to_bytes()).expect("merged sketch must decode");
        assert_eq!(reparsed, doubled);
    }
    // add(x) then remove(x) restores the exact state (x lies in [min, max],
    // so it is never the last copy of an extreme, and unless the add had to
    // collapse, nothing else changed).
    if let Some(x) = sketch.quantile(0.5).unwrap() {
        let mut moved = sketch.clone();
        if moved.add(x).is_ok() && moved.resolution() == sketch.resolution() {
            assert!(moved.remove(x).unwrap(), "remove after add must succeed");
            assert_eq!(moved.to_bytes(), original);
        }
    }
}

fuzz_target!(|data: &[u8]| {
    if let Ok(sketch) = QuantileSketch::from_bytes(data) {
        exercise(&sketch, data);
    }
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(sketch) = QuantileSketch::from_text(text) {
            assert_eq!(sketch.to_text(), text, "text encoding must be canonical");
            let bytes = sketch.to_bytes();
            exercise(&sketch, &bytes);
        }
    }
});
