//! Exact sum of doubles (a fixed-point "superaccumulator").
//!
//! Every finite double is an integer multiple of 2^-1074 below 2^1024, i.e.
//! an integer of at most 2098 bits in units of 2^-1074. A sum of up to 2^64
//! of them needs at most 2162 bits plus a sign, so a 34-word (2176-bit)
//! two's-complement integer holds it exactly. Integer addition is
//! associative and commutative, which is what makes merging order-proof,
//! and subtraction is exact, which is what makes `remove` drift-free.

use std::cmp::Ordering;

pub(crate) const WORDS: usize = 34;
/// Bytes of the magnitude in the serialized form.
pub(crate) const BYTES: usize = WORDS * 8;

#[derive(Clone, PartialEq, Eq, Hash)]
pub(crate) struct SuperAcc {
    /// Little-endian words of a two's-complement integer in units of 2^-1074.
    w: [u64; WORDS],
}

impl Default for SuperAcc {
    fn default() -> Self {
        SuperAcc { w: [0; WORDS] }
    }
}

/// `|x|` as `(mantissa, shift)` with `|x| = mantissa << shift` units.
#[inline(always)]
fn split(bits: u64) -> (u64, u32) {
    let biased = ((bits >> 52) & 0x7ff) as u32;
    let frac = bits & ((1 << 52) - 1);
    if biased == 0 {
        (frac, 0)
    } else {
        (frac | (1 << 52), biased - 1)
    }
}

impl SuperAcc {
    #[inline(always)]
    pub(crate) fn add(&mut self, x: f64) {
        self.accumulate(x.to_bits(), false);
    }

    #[inline(always)]
    pub(crate) fn sub(&mut self, x: f64) {
        self.accumulate(x.to_bits(), true);
    }

    #[inline(always)]
    fn accumulate(&mut self, bits: u64, negate: bool) {
        let (mant, shift) = split(bits);
        let wide = (mant as u128) << (shift % 64);
        let (lo, hi) = (wide as u64, (wide >> 64) as u64);
        let w = (shift / 64) as usize; // at most 31, so w + 1 is in range
        if (bits >> 63 != 0) != negate {
            let (r0, b0) = self.w[w].overflowing_sub(lo);
            let (r1, b1) = sbb(self.w[w + 1], hi, b0);
            self.w[w] = r0;
            self.w[w + 1] = r1;
            if b1 {
                self.propagate_borrow(w + 2);
            }
        } else {
            let (r0, c0) = self.w[w].overflowing_add(lo);
            let (r1, c1) = adc(self.w[w + 1], hi, c0);
            self.w[w] = r0;
            self.w[w + 1] = r1;
            if c1 {
                self.propagate_carry(w + 2);
            }
        }
    }

    #[cold]
    fn propagate_carry(&mut self, from: usize) {
        for word in &mut self.w[from..] {
            let (r, c) = word.overflowing_add(1);
            *word = r;
            if !c {
                return;
            }
        }
    }

    #[cold]
    fn propagate_borrow(&mut self, from: usize) {
        for word in &mut self.w[from..] {
            let (r, b) = word.overflowing_sub(1);
            *word = r;
            if !b {
                return;
            }
        }
    }

    /// Adds another accumulator (wrapping two's complement; callers keep the
    /// total within range by bounding the number of values at 2^64 - 1).
    pub(crate) fn add_acc(&mut self, other: &SuperAcc) {
        let mut carry = false;
        for (a, &b) in self.w.iter_mut().zip(other.w.iter()) {
            let (r, c) = adc(*a, b, carry);
            *a = r;
            carry = c;
        }
    }

    #[cfg(test)]
    pub(crate) fn is_zero(&self) -> bool {
        self.w.iter().all(|&w| w == 0)
    }

    pub(crate) fn is_negative(&self) -> bool {
        self.w[WORDS - 1] >> 63 != 0
    }

    fn negate(w: &mut [u64; WORDS]) {
        let mut carry = true;
        for word in w.iter_mut() {
            let (r, c) = (!*word).overflowing_add(carry as u64);
            *word = r;
            carry = c;
        }
    }

    /// Absolute value as an unsigned integer.
    pub(crate) fn magnitude(&self) -> [u64; WORDS] {
        let mut m = self.w;
        if self.is_negative() {
            Self::negate(&mut m);
        }
        m
    }

    /// Little-endian bytes of the magnitude.
    pub(crate) fn magnitude_bytes(&self) -> [u8; BYTES] {
        let mut out = [0u8; BYTES];
        for (chunk, w) in out.chunks_exact_mut(8).zip(self.magnitude().iter()) {
            chunk.copy_from_slice(&w.to_le_bytes());
        }
        out
    }

    /// Rebuilds from a sign and magnitude; `None` if the magnitude does not
    /// fit the positive range of the two's-complement representation.
    pub(crate) fn from_magnitude_bytes(bytes: &[u8; BYTES], negative: bool) -> Option<SuperAcc> {
        let mut w = [0u64; WORDS];
        for (word, chunk) in w.iter_mut().zip(bytes.chunks_exact(8)) {
            *word = u64::from_le_bytes(chunk.try_into().unwrap());
        }
        if w[WORDS - 1] >> 63 != 0 {
            return None;
        }
        if negative {
            Self::negate(&mut w);
        }
        Some(SuperAcc { w })
    }

    /// The exact value `x * n`.
    pub(crate) fn scaled(x: f64, n: u64) -> SuperAcc {
        let bits = x.to_bits();
        let (mant, shift) = split(bits);
        let product = mant as u128 * n as u128; // < 2^117
        let mut w = [0u64; WORDS];
        let word = (shift / 64) as usize;
        let bit = shift % 64;
        // Spread the 117-bit product, shifted by up to 63 bits, over 3 words.
        let low = product << bit;
        let high = if bit == 0 { 0 } else { product >> (128 - bit) };
        w[word] = low as u64;
        w[word + 1] = (low >> 64) as u64;
        if word + 2 < WORDS {
            w[word + 2] = high as u64;
        }
        if bits >> 63 != 0 {
            Self::negate(&mut w);
        }
        SuperAcc { w }
    }

    /// Signed comparison.
    pub(crate) fn compare(&self, other: &SuperAcc) -> Ordering {
        let flip = |w: u64| w ^ (1 << 63);
        flip(self.w[WORDS - 1])
            .cmp(&flip(other.w[WORDS - 1]))
            .then_with(|| {
                self.w[..WORDS - 1]
                    .iter()
                    .rev()
                    .cmp(other.w[..WORDS - 1].iter().rev())
            })
    }

    /// The sum correctly rounded to the nearest double (ties to even);
    /// `±inf` if it exceeds the double range.
    pub(crate) fn to_f64(&self) -> f64 {
        self.div_to_f64(1)
    }

    /// `self / d` correctly rounded to the nearest double (ties to even).
    pub(crate) fn div_to_f64(&self, d: u64) -> f64 {
        debug_assert!(d > 0);
        let negative = self.is_negative();
        let mut m = self.magnitude();
        // Two extra low bits (units of 2^-1076) so that the quotient always
        // carries the rounding bit of even the smallest subnormal result; the
        // remainder then only feeds the sticky bit. |sum| < 2^2163, so the
        // shift cannot overflow.
        let mut carry = 0;
        for word in m.iter_mut() {
            let next = *word >> 62;
            *word = (*word << 2) | carry;
            carry = next;
        }
        let mut rem: u128 = 0;
        if d > 1 {
            for word in m.iter_mut().rev() {
                let cur = (rem << 64) | *word as u128;
                *word = (cur / d as u128) as u64;
                rem = cur % d as u128;
            }
        }
        let magnitude = round_to_f64(&m, -1076, rem != 0);
        if negative {
            -magnitude
        } else {
            magnitude
        }
    }
}

/// Correctly rounds `n * 2^exp` (plus a positive amount below `2^exp` when
/// `sticky`) to a double. Requires the result's ulp to be at least `2^(exp+2)`,
/// which holds for `exp = -1076`.
fn round_to_f64(n: &[u64; WORDS], exp: i64, sticky: bool) -> f64 {
    let Some(top_word) = n.iter().rposition(|&w| w != 0) else {
        return 0.0;
    };
    let bit_len = top_word as i64 * 64 + (64 - n[top_word].leading_zeros() as i64);
    // Keep 53 bits, or fewer where the result is subnormal.
    let shift = (bit_len - 53).max(-1074 - exp);
    debug_assert!(shift >= 2);
    let bit = |pos: i64| -> bool { pos >= 0 && (n[(pos / 64) as usize] >> (pos % 64)) & 1 == 1 };
    let mut mant: u64 = 0;
    for pos in (shift..bit_len).rev() {
        mant = (mant << 1) | bit(pos) as u64;
    }
    let round = bit(shift - 1);
    let below = sticky || {
        let pos = shift - 1; // bits strictly below the rounding bit
        let full_words = (pos / 64) as usize;
        n[..full_words].iter().any(|&w| w != 0) || (n[full_words] & ((1u64 << (pos % 64)) - 1)) != 0
    };
    let mut shift = shift;
    if round && (below || mant & 1 == 1) {
        mant += 1;
        if mant == 1 << 53 {
            mant >>= 1;
            shift += 1;
        }
    }
    if mant < 1 << 52 {
        // Subnormal (only possible when the ulp is 2^-1074).
        return f64::from_bits(mant);
    }
    let biased = exp + shift + 52 + 1023;
    if biased >= 0x7ff {
        return f64::INFINITY;
    }
    f64::from_bits(((biased as u64) << 52) | (mant & ((1 << 52) - 1)))
}

/// Add with carry in and out.
#[inline(always)]
fn adc(a: u64, b: u64, carry: bool) -> (u64, bool) {
    let (s, c1) = a.overflowing_add(b);
    let (s, c2) = s.overflowing_add(carry as u64);
    (s, c1 | c2)
}

/// Subtract with borrow in and out.
#[inline(always)]
fn sbb(a: u64, b: u64, borrow: bool) -> (u64, bool) {
    let (d, b1) = a.overflowing_sub(b);
    let (d, b2) = d.overflowing_sub(borrow as u64);
    (d, b1 | b2)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sum_of(xs: &[f64]) -> SuperAcc {
        let mut acc = SuperAcc::default();
        for &x in xs {
            acc.add(x);
        }
        acc
    }

    #[test]
    fn single_values_round_trip() {
        let values = [
            0.0,
            1.0,
            -1.0,
            0.1,
            f64::MAX,
            -f64::MAX,
            f64::MIN_POSITIVE,
            5e-324,
            -5e-324,
            1e-310,
            123456.789,
            2f64.powi(52) + 1.0,
        ];
        for &x in &values {
            assert_eq!(sum_of(&[x]).to_f64().to_bits(), (x + 0.0).to_bits(), "{x}");
            assert_eq!(sum_of(&[x]).div_to_f64(1), x + 0.0);
        }
    }

    #[test]
    fn exact_cancellation() {
        let acc = sum_of(&[1e308, 1.0, -1e308]);
        assert_eq!(acc.to_f64(), 1.0);
        let acc = sum_of(&[1e-300, 1e300, -1e300]);
        assert_eq!(acc.to_f64(), 1e-300);
        let mut acc = sum_of(&[0.1, 0.2, 0.3]);
        acc.sub(0.1);
        acc.sub(0.2);
        acc.sub(0.3);
        assert!(acc.is_zero());
        assert!(!acc.is_negative());
    }

    #[test]
    fn overflowing_double_range_gives_infinity() {
        let acc = sum_of(&[f64::MAX, f64::MAX]);
        assert_eq!(acc.to_f64(), f64::INFINITY);
        assert_eq!(acc.div_to_f64(2), f64::MAX);
        let acc = sum_of(&[-f64::MAX, -f64::MAX, -f64::MAX]);
        assert_eq!(acc.to_f64(), f64::NEG_INFINITY);
        assert_eq!(acc.div_to_f64(3), -f64::MAX);
    }

    #[test]
    fn rounding_is_to_nearest_even() {
        // 1 + 2^-53 is a tie between 1 and 1 + 2^-52: rounds to even (1).
        let acc = sum_of(&[1.0, 2f64.powi(-53)]);
        assert_eq!(acc.to_f64(), 1.0);
        // Slightly above the tie rounds up.
        let acc = sum_of(&[1.0, 2f64.powi(-53), 2f64.powi(-100)]);
        assert_eq!(acc.to_f64(), 1.0 + f64::EPSILON);
        // (1 + 2^-52) + 2^-53 is a tie that rounds up to the even neighbour.
        let acc = sum_of(&[1.0 + f64::EPSILON, 2f64.powi(-53)]);
        assert_eq!(acc.to_f64(), 1.0 + 2.0 * f64::EPSILON);
        // Subnormal ties: (1 unit) / 2 = 0.5 units -> 0; 3 units / 2 -> 2.
        assert_eq!(sum_of(&[5e-324]).div_to_f64(2), 0.0);
        assert_eq!(sum_of(&[5e-324, 5e-324, 5e-324]).div_to_f64(2), 1e-323);
    }

    #[test]
    fn division_matches_f64_for_exact_cases() {
        let acc = sum_of(&[1.0, 2.0, 3.0, 4.0]);
        assert_eq!(acc.div_to_f64(4), 2.5);
        assert_eq!(acc.div_to_f64(3), 10.0 / 3.0);
        let acc = sum_of(&[-7.0]);
        assert_eq!(acc.div_to_f64(3), -7.0 / 3.0);
    }

    #[test]
    fn scaled_and_compare() {
        for &x in &[0.0, 1.5, -2.25, f64::MAX, -f64::MAX, 5e-324, 0.1] {
            for &n in &[0u64, 1, 2, 3, 1000, u64::MAX] {
                let s = SuperAcc::scaled(x, n);
                if n <= 1000 {
                    let mut direct = SuperAcc::default();
                    for _ in 0..n {
                        direct.add(x);
                    }
                    assert!(s == direct, "{x} * {n}");
                }
                if x > 0.0 && n > 0 {
                    assert_eq!(s.compare(&SuperAcc::scaled(x, n - 1)), Ordering::Greater);
                    assert_eq!(s.compare(&SuperAcc::scaled(-x, n)), Ordering::Greater);
                }
            }
        }
        assert_eq!(
            SuperAcc::scaled(f64::MAX, u64::MAX).div_to_f64(u64::MAX),
            f64::MAX
        );
        assert_eq!(
            SuperAcc::scaled(-f64::MAX, u64::MAX).div_to_f64(u64::MAX),
            -f64::MAX
        );
    }

    #[test]
    fn magnitude_bytes_round_trip() {
        for xs in [&[0.1, -5.0][..], &[-1e300, 3.0], &[5e-324], &[]] {
            let acc = sum_of(xs);
            let bytes = acc.magnitude_bytes();
            let back = SuperAcc::from_magnitude_bytes(&bytes, acc.is_negative()).unwrap();
            assert!(back == acc);
        }
    }
}
