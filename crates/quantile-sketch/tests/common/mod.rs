//! Shared helpers: a small deterministic PRNG (no dependencies), data
//! generators and an exact `percentile_disc` reference.
#![allow(dead_code)]

use quantile_sketch::QuantileSketch;

/// SplitMix64: tiny, fast and good enough for test data.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    pub fn normal(&mut self) -> f64 {
        let u = 1.0 - self.unit();
        let v = self.unit();
        (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
    }

    pub fn lognormal(&mut self, mu: f64, sigma: f64) -> f64 {
        (mu + sigma * self.normal()).exp()
    }

    pub fn pareto(&mut self, scale: f64, shape: f64) -> f64 {
        scale / (1.0 - self.unit()).powf(1.0 / shape)
    }

    pub fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            let j = self.below(i + 1);
            v.swap(i, j);
        }
    }
}

/// Named data sets used across the tests.
pub fn datasets(n: usize, seed: u64) -> Vec<(&'static str, Vec<f64>)> {
    let mut r = Rng::new(seed);
    vec![
        ("uniform", (0..n).map(|_| r.unit() * 1000.0).collect()),
        ("lognormal", (0..n).map(|_| r.lognormal(3.0, 1.5)).collect()),
        ("pareto", (0..n).map(|_| r.pareto(1.0, 1.2)).collect()),
        ("constant", vec![1.0; n]),
        (
            "bimodal",
            (0..n)
                .map(|_| {
                    if r.unit() < 0.7 {
                        r.lognormal(0.0, 0.2)
                    } else {
                        r.lognormal(9.0, 0.3)
                    }
                })
                .collect(),
        ),
        (
            "mixed-sign",
            (0..n)
                .map(|_| match r.below(10) {
                    0 => 0.0,
                    1 => -0.0,
                    2..=5 => -r.lognormal(1.0, 2.0),
                    _ => r.lognormal(0.0, 1.0),
                })
                .collect(),
        ),
        (
            "integers",
            (0..n).map(|_| r.below(50) as f64 - 10.0).collect(),
        ),
        (
            "tiny-and-huge",
            (0..n)
                .map(|_| {
                    let sign = if r.below(2) == 0 { 1.0 } else { -1.0 };
                    sign * 10f64.powf(r.unit() * 600.0 - 300.0)
                })
                .collect(),
        ),
    ]
}

pub fn sketch_of(values: &[f64], relative_error: f64) -> QuantileSketch {
    let mut s = QuantileSketch::new(relative_error).unwrap();
    for &v in values {
        s.add(v).unwrap();
    }
    s
}

/// Sorted copy with -0.0 normalised (PostgreSQL orders -0 == 0).
pub fn sorted(values: &[f64]) -> Vec<f64> {
    let mut v: Vec<f64> = values.iter().map(|&x| x + 0.0).collect();
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v
}

/// PostgreSQL's `percentile_disc(q)` on sorted data.
pub fn percentile_disc(sorted: &[f64], q: f64) -> f64 {
    let n = sorted.len();
    let rank = ((q * n as f64).ceil() as usize).clamp(1, n);
    sorted[rank - 1]
}

pub const QS: [f64; 8] = [0.0, 0.01, 0.5, 0.9, 0.95, 0.99, 0.999, 1.0];

/// Asserts every estimate is within the sketch's relative error of
/// percentile_disc, and that q = 0 / 1 are exact.
pub fn assert_accurate(name: &str, sketch: &QuantileSketch, sorted: &[f64], qs: &[f64]) {
    assert_accurate_within(name, sketch, sorted, qs, sketch.relative_error());
}

/// Asserts every estimate is within relative error `alpha` of
/// percentile_disc, and that q = 0 / 1 are exact.
pub fn assert_accurate_within(
    name: &str,
    sketch: &QuantileSketch,
    sorted: &[f64],
    qs: &[f64],
    alpha: f64,
) {
    let estimates = sketch.quantiles(qs).unwrap().unwrap();
    for (&q, &est) in qs.iter().zip(&estimates) {
        let exact = percentile_disc(sorted, q);
        assert_eq!(
            sketch.quantile(q).unwrap(),
            Some(est),
            "{name}: quantile vs quantiles at {q}"
        );
        assert!(
            (est - exact).abs() <= alpha * exact.abs(),
            "{name}: q={q} estimate {est} exact {exact} alpha {alpha}"
        );
        if q == 0.0 || q == 1.0 {
            assert_eq!(
                est.to_bits(),
                exact.to_bits(),
                "{name}: q={q} must be exact"
            );
        }
        assert!(est >= sorted[0] && est <= sorted[sorted.len() - 1]);
    }
}
