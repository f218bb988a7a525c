//! Binary and text encodings: round trips, canonical form, strict decoding.

mod common;

use common::*;
use quantile_sketch::{QuantileSketch, SketchError};

fn samples() -> Vec<QuantileSketch> {
    let mut out = vec![
        QuantileSketch::default(),
        QuantileSketch::new(0.3).unwrap(),
        sketch_of(&[0.0], 0.01),
        sketch_of(&[-0.0, 0.0, 0.0], 0.01),
        sketch_of(&[42.0], 0.01),
        sketch_of(&[-42.0, -42.0], 0.001),
        sketch_of(&[5e-324, f64::MAX, -f64::MAX, -5e-324, 0.0], 0.0001),
        sketch_of(&[1e-3, 1e3, 1e-3, 7.0], 0.05),
    ];
    for (_, data) in datasets(5_000, 4) {
        out.push(sketch_of(&data, 0.01));
        out.push(sketch_of(&data[..50], 0.0001));
    }
    // A sketch that went through removals.
    let mut s = sketch_of(&[1.0, 2.0, 3.0, 3.0, 100.0, 2.0], 0.01);
    assert!(s.remove(2.0).unwrap());
    assert!(s.remove(3.0).unwrap());
    out.push(s);
    out
}

#[test]
fn bytes_and_text_round_trip() {
    for s in samples() {
        let bytes = s.to_bytes();
        let back = QuantileSketch::from_bytes(&bytes).unwrap();
        assert_eq!(back, s);
        assert_eq!(back.to_bytes(), bytes);
        let text = s.to_text();
        assert!(text.starts_with("qsketch:"));
        let parsed: QuantileSketch = text.parse().unwrap();
        assert_eq!(parsed, s);
        assert_eq!(parsed.to_string(), text);
        // Decoded sketches answer like the original and keep working.
        assert_eq!(back.quantiles(&QS).unwrap(), s.quantiles(&QS).unwrap());
        assert_eq!(back.sum().to_bits(), s.sum().to_bits());
        let mut merged = back.clone();
        merged.merge(&s).unwrap();
        assert_eq!(merged.count(), 2 * s.count());
    }
}

#[test]
fn empty_sketch_encoding_is_tiny() {
    let s = QuantileSketch::default();
    assert_eq!(s.to_bytes(), vec![1, 0, 6, 0]);
    assert_eq!(s.to_text(), "qsketch:AQAGAA==");
}

#[test]
fn typical_latency_sketch_is_small() {
    let mut r = Rng::new(1);
    // One million latencies of roughly 0.1 ms .. 10 s (lognormal).
    let data: Vec<f64> = (0..1_000_000).map(|_| r.lognormal(2.0, 1.6)).collect();
    let s = sketch_of(&data, 0.01);
    let size = s.to_bytes().len();
    println!(
        "1M lognormal latencies at 1%: {} buckets, {size} bytes",
        s.buckets().count()
    );
    assert!(size < 3000, "{size} bytes");
}

#[test]
fn every_truncation_fails_cleanly() {
    for s in samples() {
        let bytes = s.to_bytes();
        for n in 0..bytes.len() {
            let err = QuantileSketch::from_bytes(&bytes[..n]).unwrap_err();
            assert!(matches!(err, SketchError::MalformedBytes(_)), "{err:?}");
            let msg = err.to_string();
            assert!(msg.starts_with("invalid quantile sketch data: "), "{msg}");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        let err = QuantileSketch::from_bytes(&longer).unwrap_err().to_string();
        assert!(err.contains("trailing"), "{err}");
    }
}

#[test]
fn random_corruption_never_panics_and_accepted_input_is_canonical() {
    let mut r = Rng::new(1234);
    let mut accepted = 0;
    for s in samples() {
        let bytes = s.to_bytes();
        for _ in 0..3_000 {
            let mut b = bytes.clone();
            for _ in 0..1 + r.below(3) {
                match r.below(4) {
                    0 => {
                        let i = r.below(b.len());
                        b[i] ^= 1 << r.below(8);
                    }
                    1 => {
                        let i = r.below(b.len());
                        b[i] = r.next_u64() as u8;
                    }
                    2 => {
                        let i = r.below(b.len() + 1);
                        b.insert(i, r.next_u64() as u8);
                    }
                    _ => {
                        if b.len() > 1 {
                            let i = r.below(b.len());
                            b.remove(i);
                        }
                    }
                }
            }
            if let Ok(d) = QuantileSketch::from_bytes(&b) {
                // Canonical: whatever decodes re-encodes to the same bytes.
                assert_eq!(d.to_bytes(), b);
                let _ = d.quantiles(&QS).unwrap();
                let _ = d.percentile_rank(1.0).unwrap();
                let _ = d.mean();
                accepted += 1;
            }
        }
    }
    println!("accepted {accepted} corrupted inputs (all canonical)");
}

fn err_of(bytes: &[u8]) -> String {
    QuantileSketch::from_bytes(bytes).unwrap_err().to_string()
}

#[test]
fn decoding_errors_say_what_is_wrong() {
    let good = sketch_of(&[1.0, 2.0, -3.0, 0.0], 0.01).to_bytes();
    assert_eq!(
        err_of(&[]),
        "invalid quantile sketch data: no data (empty input)"
    );
    let mut b = good.clone();
    b[0] = 9;
    assert!(
        err_of(&b).contains("unknown format version 9"),
        "{}",
        err_of(&b)
    );
    let mut b = good.clone();
    b[1] = 0x82;
    assert!(err_of(&b).contains("unknown flags 0x82 at byte 1"));
    let mut b = good.clone();
    b[2] = 13;
    assert!(err_of(&b).contains("resolution level 13"));
    assert!(
        err_of(&good[..5]).contains("truncated at byte 4 while reading the minimum"),
        "{}",
        err_of(&good[..5])
    );
    // count says 4; make it 5.
    let mut b = good.clone();
    b[3] = 5;
    assert!(err_of(&b).contains("do not add up"), "{}", err_of(&b));
    // min > max
    let mut b = good.clone();
    b[4..12].copy_from_slice(&9.0f64.to_le_bytes());
    assert!(
        err_of(&b).contains("greater than maximum"),
        "{}",
        err_of(&b)
    );
    // min not in its bucket
    let mut b = good.clone();
    b[4..12].copy_from_slice(&(-1.0f64).to_le_bytes());
    assert!(
        err_of(&b).contains("lowest non-empty bucket"),
        "{}",
        err_of(&b)
    );
    let mut b = good.clone();
    b[4..12].copy_from_slice(&f64::NAN.to_le_bytes());
    assert!(err_of(&b).contains("not finite"));
    let mut b = good.clone();
    b[12..20].copy_from_slice(&(-0.0f64).to_le_bytes());
    assert!(err_of(&b).contains("negative zero"));
    // overlong varint for the count: 0x84 0x00 instead of 0x04
    let mut b = good[..3].to_vec();
    b.extend([0x84, 0x00]);
    b.extend(&good[4..]);
    assert!(
        err_of(&b).contains("overlong number encoding at byte 3"),
        "{}",
        err_of(&b)
    );
    // 11-byte varint
    let mut b = good[..3].to_vec();
    b.extend([0xff; 10]);
    assert!(err_of(&b).contains("exceeds 64 bits"), "{}", err_of(&b));
    // Empty sketch claiming a negative sum.
    assert!(err_of(&[1, 1, 6, 0]).contains("negative sum"));
    assert!(err_of(&[1, 0, 6, 0, 0]).contains("1 unexpected trailing bytes at byte 4"));
}

#[test]
fn hand_built_encodings_are_checked() {
    // A sketch of [1.0, 1.0] at k=6: bucket 0 holds 2.
    let s = sketch_of(&[1.0, 1.0], 0.01);
    let b = s.to_bytes();
    let expected: Vec<u8> = [
        vec![1, 0, 6, 2],
        1f64.to_le_bytes().to_vec(),
        1f64.to_le_bytes().to_vec(),
        vec![2, 2, 0],      // min_count, max_count, zero_count
        vec![0],            // negative store: empty
        vec![1, 0, 2],      // positive: span 1, first index 0, count 2
        vec![1, 134, 1, 8], // sum 2.0 = 2^1075 units: 1 byte (0x08) at byte offset 134
    ]
    .concat();
    assert_eq!(b, expected);
    let with = |tail: &[u8]| {
        let mut v = b[..24].to_vec();
        v.extend_from_slice(tail);
        err_of(&v)
    };
    // Non-canonical run (a run at the start), index out of range, span too big.
    assert!(
        with(&[2, 0, 0, 1, 2, 1, 134, 1, 8]).contains("non-canonical run"),
        "{}",
        with(&[2, 0, 0, 1, 2, 1, 134, 1, 8])
    );
    assert!(with(&[1, 0xff, 0xff, 0xff, 0x7f, 2, 1, 134, 1, 8]).contains("out of range"));
    assert!(with(&[0xff, 0x7f, 0, 2, 1, 134, 1, 8]).contains("exceeds the budget"));
    // Wrong sum (3.0 instead of 2.0) breaks count*min <= sum <= count*max.
    let mut v = b.clone();
    let last = v.len() - 1;
    v[last] = 0x0c;
    assert!(
        err_of(&v).contains("the sum is not between"),
        "{}",
        err_of(&v)
    );
    // Sum with a zero top byte is non-canonical.
    let mut v = b[..b.len() - 4].to_vec();
    v.extend([2, 134, 1, 8, 0]);
    assert!(
        err_of(&v).contains("non-canonical zero bytes"),
        "{}",
        err_of(&v)
    );
    // min_count larger than the bucket / count.
    let mut v = b.clone();
    v[20] = 3;
    assert!(
        err_of(&v).contains("must equal the total count"),
        "{}",
        err_of(&v)
    );
}

#[test]
fn text_errors_are_precise() {
    let text_err = |t: &str| QuantileSketch::from_text(t).unwrap_err().to_string();
    assert_eq!(
        text_err("AQAGAA=="),
        "invalid quantile sketch text: expected the prefix \"qsketch:\""
    );
    assert!(text_err("qsketch:").contains("no data"));
    assert!(text_err("qsketch:AQAGA").contains("not a multiple of 4"));
    assert!(
        text_err("qsketch:AQ AGA==").contains("invalid base64 character ' ' at position 10"),
        "{}",
        text_err("qsketch:AQ AGA==")
    );
    assert!(text_err("qsketch:AQAGAB==").contains("unused bits"));
    assert!(text_err("qsketch:AQAGA===").contains("padding"));
    assert!(text_err("qsketch:AQA\nAA==").contains("invalid base64 character '\\n' at position 11"));
    assert!(
        text_err("qsketch:éAA").contains("'é' at position 8"),
        "{}",
        text_err("qsketch:éAA")
    );
    // Valid base64, invalid sketch.
    assert!(text_err("qsketch:AgAGAA==").contains("unknown format version 2"));
}

/// The strict decoder must accept every state the API can reach: random
/// sequences of add / remove / merge, checked after every step.
#[test]
fn every_reachable_state_decodes() {
    let mut r = Rng::new(2024);
    let pick = |r: &mut Rng| -> f64 {
        match r.below(8) {
            0 => 0.0,
            1 => -0.0,
            2 => (r.below(5) as f64) - 2.0,
            3 => f64::MAX * if r.below(2) == 0 { 1.0 } else { -1.0 },
            4 => 5e-324 * (1 + r.below(1000)) as f64,
            5 => -r.lognormal(0.0, 3.0),
            _ => r.lognormal(0.0, 3.0),
        }
    };
    for round in 0..40 {
        let alphas = [0.01, 0.0001, 0.2, 0.001];
        let alpha = alphas[round % alphas.len()];
        let mut s = QuantileSketch::new(alpha).unwrap();
        let mut values: Vec<f64> = Vec::new();
        for step in 0..300 {
            match r.below(10) {
                0..=5 => {
                    let v = pick(&mut r);
                    s.add(v).unwrap();
                    values.push(v);
                }
                6..=8 if !values.is_empty() => {
                    let i = r.below(values.len());
                    if s.remove(values[i]).unwrap() {
                        values.swap_remove(i);
                    }
                }
                _ => {
                    let mut other = QuantileSketch::new(alphas[r.below(alphas.len())]).unwrap();
                    for _ in 0..r.below(20) {
                        let v = pick(&mut r);
                        other.add(v).unwrap();
                        values.push(v);
                    }
                    s.merge(&other).unwrap();
                }
            }
            let bytes = s.to_bytes();
            let back =
                QuantileSketch::from_bytes(&bytes).unwrap_or_else(|e| panic!("round {round}: {e}"));
            assert_eq!(back, s);
            assert_eq!(s.count(), values.len() as u64);
            if !values.is_empty() && step % 10 == 0 {
                let sorted = sorted(&values);
                assert_eq!(s.min(), Some(sorted[0]));
                assert_eq!(s.max(), Some(sorted[sorted.len() - 1]));
                let fresh = sketch_of(&values, 0.3);
                assert_eq!(s.sum().to_bits(), fresh.sum().to_bits());
            }
        }
    }
}
