//! Micro-benchmark of `add`: 10M lognormal values (latency-like).
//!
//! Run with `cargo run --release -p quantile-sketch --example bench_add`.

use std::hint::black_box;
use std::time::Instant;

use quantile_sketch::QuantileSketch;

fn main() {
    const N: usize = 10_000_000;
    // SplitMix64 + Box-Muller, generated up front so only `add` is timed.
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut next = || {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
    };
    let values: Vec<f64> = (0..N)
        .map(|_| {
            let (u, v) = (1.0 - next(), next());
            let normal = (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos();
            (2.0 + 1.6 * normal).exp() // median ~7.4 ms, long tail
        })
        .collect();

    for round in 0..3 {
        let mut sketch = QuantileSketch::default();
        let start = Instant::now();
        for &v in &values {
            sketch.add(black_box(v)).unwrap();
        }
        let elapsed = start.elapsed();
        let sketch = black_box(sketch);
        println!(
            "round {round}: {:.2} ns/add ({} values, {} buckets, {} bytes serialized, p99 = {:.3})",
            elapsed.as_nanos() as f64 / N as f64,
            sketch.count(),
            sketch.buckets().count(),
            sketch.to_bytes().len(),
            sketch.quantile(0.99).unwrap().unwrap(),
        );
    }

    let mut parts: Vec<QuantileSketch> = values
        .chunks(N / 64)
        .map(|c| {
            let mut s = QuantileSketch::default();
            c.iter().for_each(|&v| s.add(v).unwrap());
            s
        })
        .collect();
    let start = Instant::now();
    let mut merged = parts.pop().unwrap();
    for p in &parts {
        merged.merge(p).unwrap();
    }
    let merge_ns = start.elapsed().as_nanos() as f64 / parts.len() as f64;
    let start = Instant::now();
    let bytes = merged.to_bytes();
    let encode_ns = start.elapsed().as_nanos();
    let start = Instant::now();
    let decoded = QuantileSketch::from_bytes(&bytes).unwrap();
    let decode_ns = start.elapsed().as_nanos();
    assert_eq!(decoded, merged);
    println!("merge: {merge_ns:.0} ns each; to_bytes: {encode_ns} ns; from_bytes: {decode_ns} ns");
}
