//! The logarithmic bucket lattice shared by every sketch.
//!
//! At resolution level `k` the bucket boundaries are the powers of
//! `gamma_k = 2^(1/2^k)`: bucket `i` holds the magnitudes in
//! `[gamma_k^i, gamma_k^(i+1))`, i.e. `i = floor(log2(x) * 2^k)`.
//! Level `k - 1` keeps every other boundary of level `k`, so collapsing one
//! level maps `i -> i >> 1` exactly; that is what lets any two sketches merge.
//!
//! The boundaries are irrational, so we never compute `log2` at run time.
//! Instead, every boundary inside an octave is a fixed dyadic rational
//! `B[j] ~ 2^(j/4096)` (the f64 nearest to it, computed at compile time with
//! integer arithmetic, so it is identical on every platform), and membership
//! is decided by comparing the value's mantissa bits against `B` as integers.
//! Lower levels use the subset `B[j << (MAX_K - k)]`, which makes the
//! collapse property hold by construction, with no floating-point rounding
//! anywhere in the decision.

/// The finest resolution level.
pub(crate) const MAX_K: u32 = 12;

const FRAC_BITS: u32 = 52;
const FRAC_MASK: u64 = (1 << FRAC_BITS) - 1;
/// Boundaries per octave at the finest level.
const STEPS: usize = 1 << MAX_K;

/// Smallest and largest binary exponents of finite non-zero doubles
/// (`2^-1074` is the smallest subnormal, `f64::MAX < 2^1024`).
pub(crate) const MIN_EXP: i64 = -1074;
pub(crate) const MAX_EXP: i64 = 1023;

/// Slack added to `(gamma - 1) / (gamma + 1)` to cover the floating-point
/// rounding of the boundaries (within 1 ulp of the ideal powers) and of the
/// estimate computation (three roundings). The real excess is below 1e-15.
const ROUNDING_MARGIN: f64 = 4e-15;

/// `round(ln(2) * 2^120)`.
const LN2_Q120: u128 = 921_350_637_599_661_305_226_344_307_672_478_455;

/// `floor(a * b / 2^120)` for `a, b < 2^121` (fixed point with 120
/// fraction bits), exact, via 64-bit limbs.
const fn mul_q120(a: u128, b: u128) -> u128 {
    const LOW: u128 = (1 << 64) - 1;
    let (a1, a0) = (a >> 64, a & LOW);
    let (b1, b0) = (b >> 64, b & LOW);
    let mid = a0 * b1 + a1 * b0 + ((a0 * b0) >> 64);
    ((a1 * b1) << 8) + (mid >> 56)
}

/// Fraction bits (the 52 bits after the binary point) of the f64 nearest to
/// `2^(j/4096)`. Computed by the compiler in 120-bit fixed point with a
/// Taylor series of `exp(j ln2 / 4096)`: the error (below 2^-100) is far
/// smaller than the distance of any of these values to a rounding tie
/// (at least 8.7e-5 ulp), so every entry is correctly rounded, and being
/// pure integer arithmetic it is identical on every platform.
const fn exp2_frac_bits(j: u128) -> u64 {
    const ONE: u128 = 1 << 120;
    let y = j * (LN2_Q120 / STEPS as u128);
    let mut sum = ONE;
    let mut term = ONE;
    let mut n = 1;
    while n < 60 {
        term = mul_q120(term, y) / n;
        if term == 0 {
            break;
        }
        sum += term;
        n += 1;
    }
    let rounded = (sum + (1 << 67)) >> 68;
    (rounded - (1 << FRAC_BITS)) as u64
}

const fn make_bounds() -> [u64; STEPS + 1] {
    let mut t = [0u64; STEPS + 1];
    let mut j = 0;
    while j < STEPS {
        t[j] = exp2_frac_bits(j as u128);
        j += 1;
    }
    // Sentinel for the top of the octave (mantissa 2.0): larger than any
    // fraction, so the "next boundary" comparison never fires past it.
    t[STEPS] = 1 << FRAC_BITS;
    t
}

/// The table as a constant, evaluated once and shared by the other tables.
/// Only used at compile time, so it is never copied at run time.
#[allow(clippy::large_const_arrays)]
const BOUNDS_TABLE: [u64; STEPS + 1] = make_bounds();

/// `BOUNDS[j]`: fraction bits of the boundary `B[j] ~ 2^(j/4096)`.
static BOUNDS: [u64; STEPS + 1] = BOUNDS_TABLE;

/// Slot tables, one per level, concatenated: level `k` starts at
/// `2^(k+1) - 2` and has `2^(k+1)` slots, slot `s` covering the fractions
/// `[s, s+1) * 2^(51-k)`. Level-`k` boundaries are at least
/// `ln(2)/2^k > 2^-(k+1)` apart, so a slot contains at most one boundary
/// and a single comparison finishes the lookup. Each entry packs the
/// largest level-`k` bucket `j` whose lower boundary is `<=` the slot start
/// (low 12 bits) with the fraction bits of the next boundary minus one,
/// `B[j+1] - 1` (high 52 bits; the sentinel 2^52 of the last bucket becomes
/// 2^52 - 1, which no fraction exceeds). One load per lookup keeps the
/// dependent chain of `add` short.
static SLOTS: [u64; 1 << (MAX_K + 2)] = make_slots();

const fn make_slots() -> [u64; 1 << (MAX_K + 2)] {
    let bounds = BOUNDS_TABLE;
    let mut t = [0u64; 1 << (MAX_K + 2)];
    let mut k = 0;
    while k <= MAX_K {
        let base = (1usize << (k + 1)) - 2;
        let stride = MAX_K - k;
        let mut j = 0usize;
        let mut s = 0usize;
        while s < (1 << (k + 1)) {
            let start = (s as u64) << (51 - k);
            while j + 1 < (1 << k) && bounds[(j + 1) << stride] <= start {
                j += 1;
            }
            t[base + s] = ((bounds[(j + 1) << stride] - 1) << 12) | j as u64;
            s += 1;
        }
        k += 1;
    }
    t
}

/// Effective relative error of each level: `(gamma - 1) / (gamma + 1)`
/// plus the rounding margin.
pub(crate) const RELATIVE_ERROR: [f64; MAX_K as usize + 1] = make_relative_errors();

const fn make_relative_errors() -> [f64; MAX_K as usize + 1] {
    let bounds = BOUNDS_TABLE;
    let mut t = [0.0; MAX_K as usize + 1];
    let mut k = 0;
    while k <= MAX_K as usize {
        let gamma = 1.0 + bounds[STEPS >> k] as f64 / (1u64 << FRAC_BITS) as f64;
        t[k] = (gamma - 1.0) / (gamma + 1.0) + ROUNDING_MARGIN;
        k += 1;
    }
    t
}

/// `2^e` for every exponent of a finite non-zero double.
#[inline]
pub(crate) fn pow2(e: i64) -> f64 {
    debug_assert!((MIN_EXP..=MAX_EXP).contains(&e));
    if e >= -1022 {
        f64::from_bits(((e + 1023) as u64) << FRAC_BITS)
    } else {
        f64::from_bits(1 << (e - MIN_EXP))
    }
}

/// Splits the bits of a positive finite double into `(e, fraction)` with the
/// value equal to `2^e * (1 + fraction / 2^52)`; subnormals are normalised.
#[inline(always)]
fn decompose(magnitude_bits: u64) -> (i64, u64) {
    let biased = (magnitude_bits >> FRAC_BITS) as i64;
    let frac = magnitude_bits & FRAC_MASK;
    if biased != 0 {
        (biased - 1023, frac)
    } else {
        let top = 63 - frac.leading_zeros() as i64;
        (
            top + MIN_EXP,
            (frac << (FRAC_BITS as i64 - top)) & FRAC_MASK,
        )
    }
}

/// Bucket index at level `k` of a positive finite double given by its bits.
#[inline(always)]
pub(crate) fn index(magnitude_bits: u64, k: u32) -> i64 {
    let (e, frac) = decompose(magnitude_bits);
    let slot = (frac >> (51 - k)) as usize;
    let entry = SLOTS[(1usize << (k + 1)) - 2 + slot];
    let j = (entry & 0xfff) + (frac > entry >> 12) as u64;
    (e << k) + j as i64
}

/// Inclusive range of bucket indexes that can hold a finite double at level `k`.
pub(crate) fn index_range(k: u32) -> (i64, i64) {
    (MIN_EXP << k, ((MAX_EXP + 1) << k) - 1)
}

/// Mantissas in `[1, 2]` of the lower and upper boundary of bucket `i`,
/// and its octave `e`.
#[inline]
fn mantissa_bounds(k: u32, i: i64) -> (f64, f64, i64) {
    let e = i >> k;
    let j = (i & ((1 << k) - 1)) as usize;
    let stride = MAX_K - k;
    let lo = f64::from_bits((1023 << FRAC_BITS) | BOUNDS[j << stride]);
    let hi = if j + 1 == 1 << k {
        2.0
    } else {
        f64::from_bits((1023 << FRAC_BITS) | BOUNDS[(j + 1) << stride])
    };
    (lo, hi, e)
}

/// The representative magnitude of bucket `i`: the point with equal relative
/// distance to both ends, `2*lo*hi/(lo+hi)`, so no member is farther than
/// `(gamma-1)/(gamma+1)` from it in relative terms.
#[inline]
pub(crate) fn estimate(k: u32, i: i64) -> f64 {
    let (lo, hi, e) = mantissa_bounds(k, i);
    (2.0 * lo * hi / (lo + hi)) * pow2(e)
}

/// Lower and upper magnitude boundaries of bucket `i` rounded to f64 (the
/// upper boundary of the very last bucket is `+inf`, i.e. `2^1024`).
pub(crate) fn bounds(k: u32, i: i64) -> (f64, f64) {
    let (lo, hi, e) = mantissa_bounds(k, i);
    (lo * pow2(e), hi * pow2(e))
}

/// Whether at least one finite double lies in bucket `i` at level `k`.
/// Only subnormal octaves can have empty buckets: there the doubles are the
/// integer multiples of 2^-1074 and a bucket can be narrower than that.
pub(crate) fn bucket_holds_a_double(k: u32, i: i64) -> bool {
    let (min, max) = index_range(k);
    if i < min || i > max {
        return false;
    }
    let e = i >> k;
    if e >= -1022 {
        return true;
    }
    let j = (i & ((1 << k) - 1)) as usize;
    let stride = MAX_K - k;
    let shift = (e - MIN_EXP) as u32; // 0..=51
                                      // In units of 2^-1074, the bucket is [lo / 2^52, hi / 2^52).
    let lo = ((1u128 << FRAC_BITS) + BOUNDS[j << stride] as u128) << shift;
    let hi = ((1u128 << FRAC_BITS) + BOUNDS[(j + 1) << stride] as u128) << shift;
    let first = lo.div_ceil(1 << FRAC_BITS);
    (first << FRAC_BITS) < hi
}

#[cfg(test)]
mod tests {
    use super::*;

    fn brute_index(x: f64, k: u32) -> i64 {
        let (e, frac) = decompose(x.to_bits());
        let stride = MAX_K - k;
        let mut j = 0;
        while j + 1 < (1 << k) && BOUNDS[(j + 1) << stride] <= frac {
            j += 1;
        }
        (e << k) + j as i64
    }

    /// Spot checks against values computed with 60-digit decimal
    /// arithmetic (round-to-nearest of 2^(j/4096) to 52 fraction bits),
    /// including entries that lie close to a rounding tie.
    #[test]
    fn bounds_are_correctly_rounded() {
        let reference: [(usize, u64); 6] = [
            (191, 147943607047767),
            (730, 592174154124039),
            (2048, 1865452045155277),
            (2454, 2318423616292928),
            (3761, 4007181012960814),
            (4095, 4502075509564274),
        ];
        for (j, frac) in reference {
            assert_eq!(BOUNDS[j], frac, "j={j}");
        }
        // FNV-1a over the whole table, as verified against the decimal
        // reference: the lattice is part of the on-disk format, so any
        // change to it must be deliberate.
        let hash = BOUNDS.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
            (h ^ b).wrapping_mul(0x0100_0000_01b3)
        });
        assert_eq!(hash, 0xd3a0_86b2_1f3e_3795);
    }

    #[test]
    fn bounds_are_within_one_ulp_of_exp2() {
        for (j, &b) in BOUNDS.iter().enumerate().take(STEPS) {
            let ours = f64::from_bits((1023 << 52) | b);
            let libm = (j as f64 / STEPS as f64).exp2();
            let ulps = (ours.to_bits() as i64 - libm.to_bits() as i64).abs();
            assert!(ulps <= 1, "j={j}: {ours} vs {libm}");
            if j > 0 {
                assert!(b > BOUNDS[j - 1]);
            }
        }
        assert_eq!(BOUNDS[0], 0);
        // 2^(2048/4096) must be sqrt(2), which is correctly rounded.
        assert_eq!(f64::from_bits((1023 << 52) | BOUNDS[2048]), 2f64.sqrt());
    }

    #[test]
    fn slot_lookup_matches_brute_force() {
        let mut state = 0x1234_5678_9abc_def0u64;
        for k in 0..=MAX_K {
            // Exact boundaries and their neighbours.
            for j in 0..(1usize << k) {
                let b = f64::from_bits((1023 << 52) | BOUNDS[j << (MAX_K - k)]);
                for x in [b, b.next_down(), b.next_up()] {
                    if (1.0..2.0).contains(&x) {
                        assert_eq!(index(x.to_bits(), k), brute_index(x, k), "k={k} x={x}");
                    }
                }
            }
            for _ in 0..20_000 {
                state = state
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let bits = state >> 1;
                let x = f64::from_bits(bits);
                if x.is_finite() && x > 0.0 {
                    assert_eq!(index(bits, k), brute_index(x, k), "k={k} x={x:e}");
                }
            }
        }
    }

    #[test]
    fn collapse_is_exact() {
        let mut state = 99u64;
        for _ in 0..50_000 {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let bits = (state >> 1).min(f64::MAX.to_bits()).max(1);
            for k in 1..=MAX_K {
                assert_eq!(index(bits, k) >> 1, index(bits, k - 1));
            }
        }
    }

    #[test]
    fn extremes_map_into_range() {
        for k in 0..=MAX_K {
            let (lo, hi) = index_range(k);
            assert_eq!(index(1, k), lo);
            assert_eq!(index(f64::MAX.to_bits(), k), hi);
            assert_eq!(index(1f64.to_bits(), k), 0);
            assert!(bucket_holds_a_double(k, lo));
            assert!(bucket_holds_a_double(k, hi));
            assert!(!bucket_holds_a_double(k, lo - 1));
            assert!(!bucket_holds_a_double(k, hi + 1));
        }
        // At the finest level nothing but 2^-1074 itself lives in its octave.
        assert!(!bucket_holds_a_double(MAX_K, (MIN_EXP << MAX_K) + 1));
    }

    #[test]
    fn holds_a_double_agrees_with_index() {
        // Every subnormal maps to a bucket that claims to hold a double, and
        // every bucket that claims it is hit by some subnormal.
        for k in [0, 3, 7, MAX_K] {
            let mut hit = std::collections::BTreeSet::new();
            let mut n = 1u64;
            while n < (1 << 52) {
                hit.insert(index(n, k));
                n = if n < 4096 { n + 1 } else { n + n / 4096 };
            }
            for &i in &hit {
                assert!(bucket_holds_a_double(k, i));
            }
            let (lo, _) = index_range(k);
            for i in lo..(lo + (12 << k)) {
                if bucket_holds_a_double(k, i) {
                    assert!(hit.contains(&i), "k={k} i={i}");
                }
            }
        }
    }

    /// The error bound at f64 precision, checked exhaustively around every
    /// boundary of a spread of octaves (subnormal, normal and extreme).
    #[test]
    fn estimate_error_bound_holds_at_every_boundary() {
        let octaves = [
            -1074, -1073, -1070, -1060, -1050, -1040, -1023, -1022, -1021, -500, -1, 0, 1, 7, 511,
            1022, 1023,
        ];
        let mut worst = [0f64; MAX_K as usize + 1];
        for k in 0..=MAX_K {
            let alpha = RELATIVE_ERROR[k as usize];
            for &e in &octaves {
                for j in 0..(1i64 << k) {
                    let boundary_bits =
                        (2f64.powi(52) as u64 | BOUNDS[(j as usize) << (MAX_K - k)]) as u128;
                    // Boundary as an exact value: boundary_bits * 2^(e-52).
                    for delta in -3i128..=3 {
                        let mant = boundary_bits as i128 + delta;
                        let (mant, e) = if mant >= 1 << 53 {
                            (mant / 2, e + 1)
                        } else {
                            (mant, e)
                        };
                        if e > MAX_EXP || mant < (1 << 52) {
                            continue;
                        }
                        // Build the double; on the subnormal grid truncate,
                        // which just picks some nearby value.
                        let bits = if e >= -1022 {
                            (((e + 1023) as u64) << 52) | (mant as u64 & FRAC_MASK)
                        } else {
                            (mant as u64) >> (-1022 - e)
                        };
                        let x = f64::from_bits(bits);
                        if x == 0.0 {
                            continue;
                        }
                        let i = index(x.to_bits(), k);
                        let est = estimate(k, i);
                        let (lo, hi) = bounds(k, i);
                        // (Rounded bounds are only exact enough above the
                        // subnormal range.)
                        if x >= f64::MIN_POSITIVE {
                            assert!(
                                lo <= x && (x < hi || hi.is_infinite()),
                                "k={k} x={x:e} not in [{lo:e}, {hi:e})"
                            );
                        }
                        let err = (est - x).abs();
                        if x >= f64::MIN_POSITIVE {
                            assert!(
                                err <= alpha * x,
                                "k={k} x={x:e} est={est:e} rel={}",
                                err / x
                            );
                            worst[k as usize] = worst[k as usize].max(err / x);
                        } else {
                            // Both are multiples of 2^-1074: compare in units.
                            let units = |v: f64| v * 2f64.powi(537) * 2f64.powi(537);
                            assert!(
                                units(err) <= alpha * units(x) + 0.5,
                                "k={k} x={x:e} est={est:e}"
                            );
                        }
                    }
                }
            }
            // The slack over the ideal bound is the documented margin only.
            let ideal = (2f64.powf(1.0 / (1u64 << k) as f64) - 1.0)
                / (2f64.powf(1.0 / (1u64 << k) as f64) + 1.0);
            assert!(
                worst[k as usize] <= ideal + 1e-15,
                "k={k}: {} vs {ideal}",
                worst[k as usize]
            );
            assert!(
                worst[k as usize] > ideal * 0.999,
                "boundaries were not hit at k={k}"
            );
        }
    }

    #[test]
    fn relative_errors_decrease() {
        assert!((RELATIVE_ERROR[0] - 1.0 / 3.0).abs() < 1e-14);
        for k in 1..=MAX_K as usize {
            assert!(RELATIVE_ERROR[k] < RELATIVE_ERROR[k - 1]);
        }
    }
}
