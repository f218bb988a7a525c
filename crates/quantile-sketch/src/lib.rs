//! A mergeable quantile sketch with a relative-error guarantee.
//!
//! This is the algorithm behind the SQL type `chronicle.quantile_sketch`.
//! It is a log-bucketed histogram in the style of DDSketch: a value `x`
//! falls into the bucket `[gamma^i, gamma^(i+1))` of its magnitude, and every
//! quantile estimate is within a relative error `alpha = (gamma-1)/(gamma+1)`
//! of the exact answer. Like UDDSketch, it collapses adjacent bucket pairs
//! (squaring gamma) whenever a bucket budget would be exceeded, and because
//! every sketch lives on the same lattice `gamma = 2^(1/2^k)`, *any* two
//! sketches merge: the finer one is coarsened to the other's resolution.
//!
//! # Example
//!
//! ```
//! use quantile_sketch::QuantileSketch;
//!
//! let mut a = QuantileSketch::new(0.01)?;
//! let mut b = QuantileSketch::new(0.05)?; // a coarser lattice level
//! for i in 1..=1000 {
//!     a.add(i as f64)?;
//!     b.add(-(i as f64) / 10.0)?;
//! }
//! a.merge(&b)?; // merges at b's (coarser) resolution
//! assert_eq!(a.count(), 2000);
//! assert_eq!(a.quantile(0.0)?, Some(-100.0)); // the exact minimum
//! let p75 = a.quantile(0.75)?.unwrap(); // exact percentile_disc: 500
//! assert!((p75 - 500.0).abs() <= a.relative_error() * 500.0);
//! assert_eq!(a.sum(), 500500.0 - 50050.0); // exact
//!
//! let restored = QuantileSketch::from_text(&a.to_text())?;
//! assert_eq!(restored, a);
//! # Ok::<(), quantile_sketch::SketchError>(())
//! ```
//!
//! # Guarantees
//!
//! * `quantile(q)` answers PostgreSQL's `percentile_disc(q)`: the value of
//!   1-based rank `max(1, ceil(q * n))` in sorted order. The estimate `e`
//!   satisfies `|e - exact| <= relative_error() * |exact|` (for subnormal
//!   exact values, up to an extra absolute error of 2^-1075, half the
//!   smallest subnormal). `q = 0` returns the exact minimum, `q = 1` the
//!   exact maximum, and every estimate lies in `[min, max]`.
//! * `relative_error()` is the *effective* bound of the current resolution.
//!   `new(alpha)` picks the coarsest lattice level whose bound is `<= alpha`,
//!   so it lies between about half of the request and the request itself
//!   (0.54% for the default 1%). It includes a margin of 4e-15 for the
//!   floating-point rounding of boundaries and estimates. A collapse (to
//!   stay within [`MAX_BUCKETS`], or to merge with a coarser sketch)
//!   increases it, and it never decreases again, not even after `remove`.
//! * `count`, `min`, `max` are exact. The sum is kept as an exact
//!   fixed-point integer, so `sum()` is the correctly rounded exact sum and
//!   `mean()` the correctly rounded exact mean, whatever the order of adds
//!   and merges.
//! * Merging is associative and commutative *byte for byte*: the same
//!   multiset of inputs gives the same `to_bytes()` in any merge order or
//!   tree shape. Adding values one at a time gives the same state as adding
//!   them to parts and merging, when all parts start at the same resolution.
//! * Everything is computed with integer and IEEE-754 basic arithmetic (the
//!   bucket boundaries are a compile-time table), so results are identical
//!   on every platform.
//!
//! # Empty sketches
//!
//! A sketch with no values is valid in memory and in both encodings (it
//! also results from removing every value); queries on it return `None`.
//! The SQL layer maps empty input to NULL rather than to an empty sketch.
//!
//! # Moving aggregates
//!
//! [`QuantileSketch::remove`] undoes an `add` exactly (counts and the exact
//! sum), for SQL window frames. It returns `Ok(false)` and leaves the sketch
//! unchanged when it cannot be sure of the result (removing the last copy of
//! the current min or max, or a value whose bucket is empty); PostgreSQL then
//! recomputes the frame from scratch. Removing a value that was never added
//! but falls into a non-empty bucket cannot be detected: callers must only
//! remove what they added.
//!
//! # Binary format (version 1)
//!
//! All integers are unsigned LEB128 varints ("varint": 7 bits per byte, low
//! group first, high bit = continuation, at most 10 bytes, no redundant
//! trailing zero groups) unless stated otherwise; "zigzag" is a varint of
//! `(n << 1) ^ (n >> 63)`; `f64` is 8 bytes, IEEE-754 bits, little endian.
//!
//! ```text
//! sketch  := version:u8 (= 1)
//!            flags:u8   (bit 0: the sum is negative; other bits 0)
//!            k:u8       (resolution level, 0..=12; gamma = 2^(1/2^k))
//!            count:varint
//!            if count > 0:
//!              min:f64 max:f64           (finite, not -0.0, min <= max)
//!              min_count:varint          (number of values equal to min)
//!              max_count:varint          (number of values equal to max)
//!              zero_count:varint
//!              negative:store            (buckets of |x| for x < 0)
//!              positive:store
//!              sum
//! store   := span:varint                 (buckets from first to last
//!                                         non-empty one; 0 = empty store)
//!            if span > 0:
//!              first:zigzag              (index of the first bucket)
//!              tokens covering exactly `span` buckets in index order:
//!                c:varint, c > 0         one bucket holding c values
//!                0x00 run:varint         `run` >= 1 empty buckets
//! sum     := len:varint                  (0..=272)
//!            if len > 0:
//!              skip:varint               (skip + len <= 272)
//!              len bytes                 (little-endian magnitude bytes
//!                                         skip .. skip+len)
//! ```
//!
//! Bucket boundaries: let `B(t)` be the f64 nearest to `2^(t/4096)` for
//! `t` in `0..4096` (all 4096 are far from rounding ties) and `B(4096) = 2`.
//! Write a magnitude as `2^e * m` with `m` in `[1, 2)` (subnormals
//! normalised, so `e` is in `-1074..=1023`). Its bucket at level `k` is
//! `i = e * 2^k + j`, with `j` the largest integer in `[0, 2^k)` such that
//! `B(j * 2^(12-k)) <= m`. So bucket `i` holds `[2^e B(j s), 2^e B((j+1) s))`
//! with `s = 2^(12-k)`: `[gamma^i, gamma^(i+1))` up to the rounding of `B`.
//! Indexes range over `-1074 * 2^k ..= 1024 * 2^k - 1`. The estimate of a
//! bucket is `((2 lo) hi / (lo + hi)) * 2^e` with `lo = B(j s)` and
//! `hi = B((j+1) s)`, evaluated in f64 in that order, then clamped to
//! `[min, max]`.
//!
//! The sum is `(-1)^flags.bit0 * magnitude * 2^-1074`, where the magnitude
//! is a 2176-bit unsigned integer (272 bytes, little endian).
//!
//! Decoding is strict, and so the encoding is canonical (one sketch state
//! has exactly one encoding): an empty sketch is exactly the four bytes
//! `01 00 k 00`; no varint is overlong; a store starts and ends with a
//! non-empty bucket and never has two runs in a row; the sum's first and
//! last magnitude bytes are non-zero and a zero sum is never negative;
//! every non-empty bucket can hold a finite double at level `k`; the two spans
//! add up to at most [`MAX_BUCKETS`]; `zero_count` plus all bucket counts
//! equals `count`; `min` lies in the lowest non-empty bucket (or is 0 when
//! that is the zero bucket) and `max` in the highest; `min_count` and
//! `max_count` are at least 1, fit in their buckets, add up to at most
//! `count` (both equal `count` when `min == max`); `count*min <= sum <=
//! count*max`; there are no trailing bytes.
//!
//! # Text format
//!
//! `qsketch:` followed by the standard base64 encoding (RFC 4648 alphabet,
//! with `=` padding) of the binary format, e.g. `qsketch:AQAGAA==` for an
//! empty sketch at level 6. Parsing is strict: no whitespace, no missing or
//! extra padding, and the unused bits of the last character must be zero.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod codec;
mod error;
mod mapping;
mod store;
mod superacc;

use std::fmt;

pub use error::SketchError;
use store::Store;
use superacc::SuperAcc;

/// Relative error used by [`QuantileSketch::default`] (1%).
pub const DEFAULT_RELATIVE_ERROR: f64 = 0.01;

/// Finest resolution level `k` (gamma = 2^(1/4096)).
pub const MAX_RESOLUTION: u32 = mapping::MAX_K;

/// Smallest relative error that [`QuantileSketch::new`] accepts. It is served
/// by [`MAX_RESOLUTION`], whose effective error is about 8.46e-5.
pub const MIN_RELATIVE_ERROR: f64 = 1e-4;

const _: () = assert!(mapping::RELATIVE_ERROR[mapping::MAX_K as usize] <= MIN_RELATIVE_ERROR);

/// Bucket budget: the spans (first to last non-empty bucket) of the
/// positive and the negative store together never exceed it.
///
/// It is exactly the number of level-0 buckets (one per binary octave)
/// needed to cover every finite double of both signs, so collapsing always
/// ends at level 0 at the latest. At the default 1% (level 6, 64 buckets per
/// octave) it covers 65 octaves, a ratio of 4e19 between the smallest and
/// largest magnitude, so real latency distributions never collapse; and it
/// bounds the bucket memory of a pathological sketch to 2 x 4196 counters
/// (67 KiB, counting the growth slack of both stores).
pub const MAX_BUCKETS: usize = 2 * ((mapping::MAX_EXP - mapping::MIN_EXP + 1) as usize);

/// One histogram bucket, as returned by [`QuantileSketch::buckets`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bucket {
    /// Lower boundary (inclusive for positive buckets, exclusive for
    /// negative ones), rounded to f64.
    pub lower: f64,
    /// Upper boundary (exclusive for positive buckets, inclusive for
    /// negative ones), rounded to f64; `±inf` for the outermost buckets.
    pub upper: f64,
    /// Number of values in the bucket (never 0).
    pub count: u64,
}

/// A mergeable quantile sketch; see the crate documentation.
#[derive(Clone)]
pub struct QuantileSketch {
    /// Resolution level: gamma = 2^(1/2^k).
    k: u32,
    count: u64,
    zero_count: u64,
    /// Exact extremes; `+inf` / `-inf` while empty.
    min: f64,
    max: f64,
    /// How many values equal `min` / `max`, so that `remove` can usually
    /// keep them exact without a rescan.
    min_count: u64,
    max_count: u64,
    /// Buckets of `x > 0`.
    positive: Store,
    /// Buckets of `|x|` for `x < 0`.
    negative: Store,
    sum: SuperAcc,
}

/// A bucket position in ascending value order.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Slot {
    Negative(i64),
    Zero,
    Positive(i64),
}

impl QuantileSketch {
    /// Creates an empty sketch that guarantees at most `relative_error`
    /// (in `[MIN_RELATIVE_ERROR, 0.5)`).
    pub fn new(relative_error: f64) -> Result<Self, SketchError> {
        if !(MIN_RELATIVE_ERROR..0.5).contains(&relative_error) {
            return Err(SketchError::InvalidRelativeError(relative_error));
        }
        let k = mapping::RELATIVE_ERROR
            .iter()
            .position(|&e| e <= relative_error)
            .expect("the finest level serves MIN_RELATIVE_ERROR") as u32;
        Ok(Self::empty(k))
    }

    fn empty(k: u32) -> Self {
        QuantileSketch {
            k,
            count: 0,
            zero_count: 0,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
            min_count: 0,
            max_count: 0,
            positive: Store::default(),
            negative: Store::default(),
            sum: SuperAcc::default(),
        }
    }

    /// Adds one value. Fails (leaving the sketch unchanged) on NaN or
    /// infinity, and after `u64::MAX` values.
    #[inline]
    pub fn add(&mut self, value: f64) -> Result<(), SketchError> {
        if !value.is_finite() {
            return Err(SketchError::NonFiniteValue(value));
        }
        if self.count == u64::MAX {
            return Err(SketchError::CountOverflow);
        }
        // -0.0 + 0.0 is +0.0, and x + 0.0 == x otherwise: zero has one sign.
        let value = value + 0.0;
        self.count += 1;
        self.sum.add(value);
        if value <= self.min {
            if value < self.min {
                self.min = value;
                self.min_count = 0;
            }
            self.min_count += 1;
        }
        if value >= self.max {
            if value > self.max {
                self.max = value;
                self.max_count = 0;
            }
            self.max_count += 1;
        }
        let bits = value.to_bits();
        let magnitude = bits & !(1 << 63);
        if magnitude == 0 {
            self.zero_count += 1;
            return Ok(());
        }
        let negative = bits != magnitude;
        let idx = mapping::index(magnitude, self.k);
        let store = if negative {
            &mut self.negative
        } else {
            &mut self.positive
        };
        if !store.try_increment(idx) {
            self.add_new_extreme(negative, idx);
        }
        Ok(())
    }

    /// The slow path of `add`: the bucket lies outside the occupied range
    /// of its store, so the budget may force a collapse first.
    #[cold]
    #[inline(never)]
    fn add_new_extreme(&mut self, negative: bool, idx: i64) {
        let mut shift = 0;
        loop {
            let (own, other) = if negative {
                (&self.negative, &self.positive)
            } else {
                (&self.positive, &self.negative)
            };
            if own.span_with(idx, idx, shift) + other.span(shift) <= MAX_BUCKETS as u64 {
                break;
            }
            shift += 1;
        }
        self.collapse(shift);
        let store = if negative {
            &mut self.negative
        } else {
            &mut self.positive
        };
        store.insert(idx >> shift, 1);
    }

    fn collapse(&mut self, shift: u32) {
        if shift > 0 {
            debug_assert!(shift <= self.k);
            self.k -= shift;
            self.positive.collapse(shift);
            self.negative.collapse(shift);
        }
    }

    /// Removes one occurrence of `value` (the inverse of `add`, for moving
    /// aggregates).
    ///
    /// Returns `Ok(true)` when removed, or `Ok(false)` with the sketch
    /// unchanged when the removal cannot be done exactly: the value is the
    /// last copy of the current min or max (whose new value is unknown), or
    /// it lies outside `[min, max]` or in an empty bucket (it was never
    /// added). The resolution never increases again after removals.
    pub fn remove(&mut self, value: f64) -> Result<bool, SketchError> {
        if !value.is_finite() {
            return Err(SketchError::NonFiniteValue(value));
        }
        let value = value + 0.0;
        if self.count == 0 || value < self.min || value > self.max {
            return Ok(false);
        }
        if self.count == 1 {
            // Here min == value == max: the sketch becomes empty.
            *self = Self::empty(self.k);
            return Ok(true);
        }
        let at_min = value == self.min;
        let at_max = value == self.max;
        if (at_min && self.min_count == 1) || (at_max && self.max_count == 1) {
            return Ok(false);
        }
        let bits = value.to_bits();
        let magnitude = bits & !(1 << 63);
        if magnitude == 0 {
            if self.zero_count == 0 {
                return Ok(false);
            }
            self.zero_count -= 1;
        } else {
            let idx = mapping::index(magnitude, self.k);
            let store = if bits != magnitude {
                &mut self.negative
            } else {
                &mut self.positive
            };
            if !store.decrement(idx) {
                return Ok(false);
            }
        }
        self.count -= 1;
        self.sum.sub(value);
        if at_min {
            self.min_count -= 1;
        }
        if at_max {
            self.max_count -= 1;
        }
        Ok(true)
    }

    /// Adds all values of `other` into `self`. Sketches of different
    /// resolutions merge at the coarser one (and coarser still if the union
    /// exceeds the bucket budget). Fails, leaving `self` unchanged, only if
    /// the total count would exceed `u64::MAX`.
    pub fn merge(&mut self, other: &QuantileSketch) -> Result<(), SketchError> {
        let count = self
            .count
            .checked_add(other.count)
            .ok_or(SketchError::CountOverflow)?;
        let k = self.k.min(other.k);
        let (own_shift, other_shift) = (self.k - k, other.k - k);
        let mut extra = 0;
        loop {
            let span =
                |a: &Store, b: &Store| union_span(a, own_shift + extra, b, other_shift + extra);
            if span(&self.positive, &other.positive) + span(&self.negative, &other.negative)
                <= MAX_BUCKETS as u64
            {
                break;
            }
            extra += 1;
        }
        self.collapse(own_shift + extra);
        self.positive
            .merge_from(&other.positive, other_shift + extra);
        self.negative
            .merge_from(&other.negative, other_shift + extra);
        self.zero_count += other.zero_count;
        self.count = count;
        self.sum.add_acc(&other.sum);
        if other.count > 0 {
            if other.min < self.min {
                self.min = other.min;
                self.min_count = other.min_count;
            } else if other.min == self.min {
                self.min_count += other.min_count;
            }
            if other.max > self.max {
                self.max = other.max;
                self.max_count = other.max_count;
            } else if other.max == self.max {
                self.max_count += other.max_count;
            }
        }
        Ok(())
    }

    /// Estimate of `percentile_disc(q)`; `None` for an empty sketch.
    pub fn quantile(&self, q: f64) -> Result<Option<f64>, SketchError> {
        check_quantile(q)?;
        Ok(self.quantiles(&[q])?.map(|v| v[0]))
    }

    /// Estimates of several quantiles at once (one pass over the buckets),
    /// in the order given; `None` for an empty sketch.
    pub fn quantiles(&self, qs: &[f64]) -> Result<Option<Vec<f64>>, SketchError> {
        for &q in qs {
            check_quantile(q)?;
        }
        if self.count == 0 {
            return Ok(None);
        }
        let mut out = vec![0.0; qs.len()];
        // (rank, position in the output) in ascending rank order.
        let mut pending: Vec<(u64, usize)> = Vec::with_capacity(qs.len());
        for (n, &q) in qs.iter().enumerate() {
            let rank = self.rank(q);
            if rank <= self.min_count {
                out[n] = self.min;
            } else if rank > self.count - self.max_count {
                out[n] = self.max;
            } else {
                pending.push((rank, n));
            }
        }
        pending.sort_unstable();
        let mut pending = pending.into_iter().peekable();
        let mut seen = 0u64;
        for (slot, c) in self.slots() {
            seen += c;
            while let Some(&(rank, n)) = pending.peek() {
                if rank > seen {
                    break;
                }
                out[n] = self.estimate(slot);
                pending.next();
            }
            if pending.peek().is_none() {
                break;
            }
        }
        debug_assert!(pending.peek().is_none());
        Ok(Some(out))
    }

    /// The 1-based rank that `percentile_disc(q)` reads.
    fn rank(&self, q: f64) -> u64 {
        // Same arithmetic as PostgreSQL: ceil(q * n) in double precision.
        let rank = (q * self.count as f64).ceil() as u64;
        rank.clamp(1, self.count)
    }

    /// Estimated fraction of values `<= value`: 0 below the minimum, 1 at or
    /// above the maximum, otherwise the fraction of values whose bucket
    /// estimate is `<= value` (at least the copies of the minimum). For
    /// `value > 0` it lies between the exact fractions at
    /// `value / (1 + alpha)` and `value / (1 - alpha)` (mirrored for
    /// negative values, exact at 0). `None` for an empty sketch; NaN is an
    /// error.
    pub fn percentile_rank(&self, value: f64) -> Result<Option<f64>, SketchError> {
        if value.is_nan() {
            return Err(SketchError::InvalidValue(value));
        }
        if self.count == 0 {
            return Ok(None);
        }
        if value < self.min {
            return Ok(Some(0.0));
        }
        if value >= self.max {
            return Ok(Some(1.0));
        }
        let mut at_or_below = 0u64;
        for (slot, c) in self.slots() {
            if self.estimate(slot) > value {
                break;
            }
            at_or_below += c;
        }
        Ok(Some(
            at_or_below.max(self.min_count) as f64 / self.count as f64,
        ))
    }

    /// Non-empty buckets in ascending value order, with their counts;
    /// negative buckets first, then zero (as `lower == upper == 0`), then
    /// positive ones. For plotting; boundaries are rounded to f64.
    pub fn buckets(&self) -> impl Iterator<Item = Bucket> + '_ {
        let k = self.k;
        self.slots().map(move |(slot, count)| {
            let (lower, upper) = match slot {
                Slot::Negative(i) => {
                    let (lo, hi) = mapping::bounds(k, i);
                    (-hi, -lo)
                }
                Slot::Zero => (0.0, 0.0),
                Slot::Positive(i) => mapping::bounds(k, i),
            };
            Bucket {
                lower,
                upper,
                count,
            }
        })
    }

    /// Non-empty bucket positions in ascending value order, with counts.
    fn slots(&self) -> impl Iterator<Item = (Slot, u64)> + '_ {
        let (neg_first, neg) = self.negative.occupied();
        let (pos_first, pos) = self.positive.occupied();
        let negative = neg
            .iter()
            .enumerate()
            .rev()
            .map(move |(n, &c)| (Slot::Negative(neg_first + n as i64), c));
        let zero = std::iter::once((Slot::Zero, self.zero_count));
        let positive = pos
            .iter()
            .enumerate()
            .map(move |(n, &c)| (Slot::Positive(pos_first + n as i64), c));
        negative.chain(zero).chain(positive).filter(|&(_, c)| c > 0)
    }

    /// The bucket position of a finite value.
    fn slot_of(&self, value: f64) -> Slot {
        if value == 0.0 {
            Slot::Zero
        } else {
            let idx = mapping::index(value.abs().to_bits(), self.k);
            if value < 0.0 {
                Slot::Negative(idx)
            } else {
                Slot::Positive(idx)
            }
        }
    }

    /// The value reported for a bucket, clamped to `[min, max]` (which can
    /// only move it closer to any member).
    fn estimate(&self, slot: Slot) -> f64 {
        let e = match slot {
            Slot::Negative(i) => -mapping::estimate(self.k, i),
            Slot::Zero => 0.0,
            Slot::Positive(i) => mapping::estimate(self.k, i),
        };
        e.clamp(self.min, self.max)
    }

    /// Number of values.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Whether the sketch holds no values.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The exact sum, correctly rounded to f64 (`±inf` if it is beyond the
    /// f64 range; 0 for an empty sketch).
    pub fn sum(&self) -> f64 {
        self.sum.to_f64()
    }

    /// The exact mean, correctly rounded to f64; `None` if empty.
    pub fn mean(&self) -> Option<f64> {
        (self.count > 0).then(|| self.sum.div_to_f64(self.count))
    }

    /// Smallest value (exact); `None` if empty. Zero is always `+0.0`.
    pub fn min(&self) -> Option<f64> {
        (self.count > 0).then_some(self.min)
    }

    /// Largest value (exact); `None` if empty.
    pub fn max(&self) -> Option<f64> {
        (self.count > 0).then_some(self.max)
    }

    /// The guaranteed relative error of quantile estimates at the current
    /// resolution (never larger than what was requested from `new`, unless
    /// the sketch had to collapse to stay within the bucket budget).
    pub fn relative_error(&self) -> f64 {
        mapping::RELATIVE_ERROR[self.k as usize]
    }

    /// The resolution level `k` (buckets are powers of `2^(1/2^k)`).
    pub fn resolution(&self) -> u32 {
        self.k
    }
}

/// Span of the union of two stores, each collapsed by its own shift.
fn union_span(a: &Store, a_shift: u32, b: &Store, b_shift: u32) -> u64 {
    match (a.is_empty(), b.is_empty()) {
        (true, true) => 0,
        (false, true) => a.span(a_shift),
        (true, false) => b.span(b_shift),
        (false, false) => {
            let (a_lo, a_hi) = a.range();
            let (b_lo, b_hi) = b.range();
            let lo = (a_lo >> a_shift).min(b_lo >> b_shift);
            let hi = (a_hi >> a_shift).max(b_hi >> b_shift);
            (hi - lo + 1) as u64
        }
    }
}

fn check_quantile(q: f64) -> Result<(), SketchError> {
    if (0.0..=1.0).contains(&q) {
        Ok(())
    } else {
        Err(SketchError::InvalidQuantile(q))
    }
}

impl Default for QuantileSketch {
    /// An empty sketch with [`DEFAULT_RELATIVE_ERROR`].
    fn default() -> Self {
        QuantileSketch::new(DEFAULT_RELATIVE_ERROR).expect("default relative error is valid")
    }
}

impl PartialEq for QuantileSketch {
    /// Equality of the logical state (exactly when `to_bytes` agree).
    fn eq(&self, other: &Self) -> bool {
        self.k == other.k
            && self.count == other.count
            && self.zero_count == other.zero_count
            && self.min.to_bits() == other.min.to_bits()
            && self.max.to_bits() == other.max.to_bits()
            && self.min_count == other.min_count
            && self.max_count == other.max_count
            && self.sum == other.sum
            && self.positive == other.positive
            && self.negative == other.negative
    }
}

impl Eq for QuantileSketch {}

impl fmt::Debug for QuantileSketch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("QuantileSketch")
            .field("resolution", &self.k)
            .field("relative_error", &self.relative_error())
            .field("count", &self.count)
            .field("min", &self.min())
            .field("max", &self.max())
            .field("sum", &self.sum())
            .field("zero_count", &self.zero_count)
            .field("negative_buckets", &self.negative.span(0))
            .field("positive_buckets", &self.positive.span(0))
            .finish()
    }
}
