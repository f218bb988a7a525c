//! Exact decimal view of JSON number text.
//!
//! With serde_json's `arbitrary_precision` feature a [`serde_json::Number`]
//! is its JSON text, so numbers of any size and precision reach us intact.
//! Everything here works on that text directly and never goes through
//! `f64`, which would silently round large integers and long fractions.

use std::ops::Range;

/// Exponents whose magnitude stays below 10^36 live in an `i128`; larger
/// ones (only reachable through absurd JSON such as `1e99999…9` with more
/// than 36 exponent digits) are kept as decimal digits. Each exponent value
/// has exactly one representation, so derived equality is value equality.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Exponent {
    Small(i128),
    Big { negative: bool, digits: Vec<u8> },
}

const SMALL_DIGITS: usize = 36;
const SMALL_LIMIT: u128 = 10u128.pow(SMALL_DIGITS as u32);

impl Exponent {
    fn from_i128(value: i128) -> Self {
        if value.unsigned_abs() < SMALL_LIMIT {
            Exponent::Small(value)
        } else {
            Exponent::Big {
                negative: value < 0,
                digits: value.unsigned_abs().to_string().into_bytes(),
            }
        }
    }

    /// `digits` are ASCII digits without leading zeros.
    fn from_digits(negative: bool, digits: Vec<u8>) -> Self {
        if digits.len() <= SMALL_DIGITS {
            let magnitude = digits_to_i128(&digits);
            Self::from_i128(if negative { -magnitude } else { magnitude })
        } else {
            Exponent::Big { negative, digits }
        }
    }

    fn is_negative(&self) -> bool {
        match self {
            Exponent::Small(v) => *v < 0,
            Exponent::Big { negative, .. } => *negative,
        }
    }

    fn write_magnitude(&self, out: &mut Vec<u8>) {
        match self {
            Exponent::Small(v) => out.extend_from_slice(v.unsigned_abs().to_string().as_bytes()),
            Exponent::Big { digits, .. } => out.extend_from_slice(digits),
        }
    }
}

/// Caller guarantees at most 36 ASCII digits, which always fit.
fn digits_to_i128(digits: &[u8]) -> i128 {
    digits
        .iter()
        .fold(0i128, |acc, d| acc * 10 + i128::from(d.wrapping_sub(b'0')))
}

/// `magnitude + delta` for a digit string `magnitude` that is known to be
/// larger than `|delta|`, so the result stays positive.
fn add_small(magnitude: &[u8], delta: i128) -> Vec<u8> {
    let mut digits: Vec<u8> = magnitude.iter().map(|d| d.wrapping_sub(b'0')).collect();
    let subtract = delta < 0;
    let mut carry = delta.unsigned_abs();
    for digit in digits.iter_mut().rev() {
        if carry == 0 {
            break;
        }
        let step = (carry % 10) as u8;
        carry /= 10;
        if subtract {
            if *digit >= step {
                *digit -= step;
            } else {
                *digit = *digit + 10 - step;
                carry += 1; // borrow from the next digit
            }
        } else {
            let sum = *digit + step;
            *digit = sum % 10;
            carry += u128::from(sum / 10);
        }
    }
    let mut result = Vec::with_capacity(digits.len() + 1);
    if carry > 0 {
        // Only an addition can run past the most significant digit.
        result.extend_from_slice(carry.to_string().as_bytes());
    }
    result.extend(digits.into_iter().map(|d| d + b'0'));
    let leading_zeros = result.iter().take_while(|&&d| d == b'0').count();
    result.drain(..leading_zeros);
    result
}

/// A syntactically valid JSON number, seen as
/// `(-1)^negative × 0.D × 10^p` where `D` is the significant digit string
/// (no leading or trailing zeros) taken from the integer and fraction parts.
#[derive(Debug)]
struct Decimal<'a> {
    negative: bool,
    int: &'a [u8],
    frac: &'a [u8],
    /// Position of the first significant digit within `int ++ frac`.
    first: usize,
    /// Number of significant digits; 0 means the value is zero.
    len: usize,
    exp_negative: bool,
    /// Written exponent digits without sign and leading zeros.
    exp_digits: &'a [u8],
}

impl<'a> Decimal<'a> {
    /// Parses RFC 8259 number syntax: `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`.
    fn parse(text: &'a str) -> Option<Self> {
        let bytes = text.as_bytes();
        let digits_from = |start: usize| {
            start
                + bytes
                    .get(start..)
                    .unwrap_or_default()
                    .iter()
                    .take_while(|b| b.is_ascii_digit())
                    .count()
        };

        let negative = bytes.first() == Some(&b'-');
        let int_start = usize::from(negative);
        let int_end = match bytes.get(int_start) {
            Some(b'0') => int_start + 1,
            Some(b'1'..=b'9') => digits_from(int_start),
            _ => return None,
        };
        let mut pos = int_end;

        let mut frac: &[u8] = &[];
        if bytes.get(pos) == Some(&b'.') {
            let end = digits_from(pos + 1);
            if end == pos + 1 {
                return None;
            }
            frac = bytes.get(pos + 1..end)?;
            pos = end;
        }

        let mut exp_negative = false;
        let mut exp_digits: &[u8] = &[];
        if matches!(bytes.get(pos), Some(b'e' | b'E')) {
            pos += 1;
            match bytes.get(pos) {
                Some(b'+') => pos += 1,
                Some(b'-') => {
                    exp_negative = true;
                    pos += 1;
                }
                _ => {}
            }
            let end = digits_from(pos);
            if end == pos {
                return None;
            }
            let written = bytes.get(pos..end)?;
            let zeros = written.iter().take_while(|&&d| d == b'0').count();
            exp_digits = written.get(zeros..)?;
            pos = end;
        }
        if pos != bytes.len() {
            return None;
        }

        let int = bytes.get(int_start..int_end)?;
        let all = || int.iter().chain(frac);
        let total = int.len() + frac.len();
        let first = all().take_while(|&&d| d == b'0').count();
        let trailing = all().rev().take_while(|&&d| d == b'0').count();
        let len = total.saturating_sub(first + trailing);
        Some(Decimal {
            negative,
            int,
            frac,
            first,
            len,
            exp_negative,
            exp_digits,
        })
    }

    fn significant_digits(&self) -> impl Iterator<Item = &u8> + '_ {
        self.int
            .iter()
            .chain(self.frac)
            .skip(self.first)
            .take(self.len)
    }

    /// Writes significant digits `range` (indexes into `D`).
    fn write_digits(&self, range: Range<usize>, out: &mut Vec<u8>) {
        out.extend(
            self.significant_digits()
                .skip(range.start)
                .take(range.end.saturating_sub(range.start)),
        );
    }

    /// The point exponent `p` (value = 0.D × 10^p) plus `delta`.
    fn point_exponent(&self, delta: i128) -> Exponent {
        // The digit shift is bounded by the text length, far below 10^20.
        let shift = self.int.len() as i128 - self.first as i128 + delta;
        if self.exp_digits.len() <= SMALL_DIGITS {
            let written = digits_to_i128(self.exp_digits);
            let written = if self.exp_negative { -written } else { written };
            Exponent::from_i128(written + shift)
        } else {
            // |written| >= 10^36 > |shift|: the sum keeps the written sign and
            // only its magnitude moves.
            let towards = if self.exp_negative { -shift } else { shift };
            Exponent::from_digits(self.exp_negative, add_small(self.exp_digits, towards))
        }
    }

    fn value_eq(&self, other: &Decimal<'_>) -> bool {
        if self.len == 0 || other.len == 0 {
            return self.len == other.len; // every zero is the same zero
        }
        self.negative == other.negative
            && self.len == other.len
            && self.significant_digits().eq(other.significant_digits())
            && self.point_exponent(0) == other.point_exponent(0)
    }

    /// The layout of ECMAScript's Number::prototype.toString, applied to the
    /// exact digits (see the crate documentation for the rules).
    fn write_canonical(&self, out: &mut Vec<u8>) {
        if self.len == 0 {
            out.push(b'0');
            return;
        }
        if self.negative {
            out.push(b'-');
        }
        let k = self.len as i128;
        match self.point_exponent(0) {
            Exponent::Small(n) if k <= n && n <= 21 => {
                self.write_digits(0..self.len, out);
                out.extend(std::iter::repeat_n(b'0', (n - k) as usize));
            }
            Exponent::Small(n) if 0 < n && n <= 21 => {
                self.write_digits(0..n as usize, out);
                out.push(b'.');
                self.write_digits(n as usize..self.len, out);
            }
            Exponent::Small(n) if -6 < n && n <= 0 => {
                out.extend_from_slice(b"0.");
                out.extend(std::iter::repeat_n(b'0', n.unsigned_abs() as usize));
                self.write_digits(0..self.len, out);
            }
            _ => {
                self.write_digits(0..1, out);
                if self.len > 1 {
                    out.push(b'.');
                    self.write_digits(1..self.len, out);
                }
                let exponent = self.point_exponent(-1);
                out.extend_from_slice(if exponent.is_negative() { b"e-" } else { b"e+" });
                exponent.write_magnitude(out);
            }
        }
    }
}

/// Integers of at most 21 digits are already canonical as written (JSON
/// forbids leading zeros), except `-0`. This skips the general path for the
/// most common kind of number.
fn is_canonical_integer(text: &str) -> bool {
    let digits = text.strip_prefix('-').unwrap_or(text);
    let bytes = digits.as_bytes();
    match bytes.first() {
        Some(b'1'..=b'9') => bytes.len() <= 21 && bytes.iter().all(u8::is_ascii_digit),
        Some(b'0') => bytes.len() == 1 && digits.len() == text.len(),
        _ => false,
    }
}

/// Appends the canonical form of the JSON number `text`.
///
/// Text that is not a JSON number cannot come out of serde_json; should it
/// ever appear it is copied unchanged rather than causing a panic.
pub(crate) fn write_canonical(text: &str, out: &mut Vec<u8>) {
    if is_canonical_integer(text) {
        out.extend_from_slice(text.as_bytes());
        return;
    }
    match Decimal::parse(text) {
        Some(decimal) => decimal.write_canonical(out),
        None => out.extend_from_slice(text.as_bytes()),
    }
}

/// Whether two JSON number texts denote the same decimal value.
pub(crate) fn numbers_equal(a: &str, b: &str) -> bool {
    if a == b {
        return true;
    }
    match (Decimal::parse(a), Decimal::parse(b)) {
        (Some(a), Some(b)) => a.value_eq(&b),
        _ => false,
    }
}

/// Whether `text` is a syntactically valid JSON number.
pub(crate) fn is_valid(text: &str) -> bool {
    Decimal::parse(text).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canon(text: &str) -> String {
        let mut out = Vec::new();
        write_canonical(text, &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn add_small_carries_and_borrows() {
        assert_eq!(add_small(b"999", 1), b"1000");
        assert_eq!(add_small(b"1000", -1), b"999");
        assert_eq!(
            add_small(b"1000000000000000000000000000000000000000", -25),
            b"999999999999999999999999999999999999975"
        );
        assert_eq!(add_small(b"123", 0), b"123");
        assert_eq!(
            add_small(b"99999999999999999999999999999999999999999", 123),
            b"100000000000000000000000000000000000000122"
        );
    }

    #[test]
    fn huge_exponents_are_exact() {
        let e37 = "1".repeat(37);
        assert_eq!(canon(&format!("1e{e37}")), format!("1e+{e37}"));
        assert_eq!(
            canon(&format!("12.5e-{e37}")),
            format!("1.25e-{}", "1".repeat(36) + "0")
        );
        // The boundary between the i128 and digit representations is invisible.
        let nines = "9".repeat(36);
        assert!(numbers_equal(
            &format!("10e{nines}"),
            &format!("1e1{}", "0".repeat(36))
        ));
        assert!(numbers_equal(
            &format!("0.01e-{nines}"),
            &format!("1e-1{}1", "0".repeat(35))
        ));
        assert!(!numbers_equal(&format!("1e{e37}"), &format!("1e-{e37}")));
        assert_eq!(canon(&format!("0e{e37}")), "0");
    }

    #[test]
    fn syntax_is_validated() {
        for bad in [
            "", "-", "01", "1.", ".5", "1e", "1e+", "+1", "1 ", "0x10", "1.5.5", "--1", "NaN",
        ] {
            assert!(!is_valid(bad), "{bad:?} accepted");
            assert_eq!(canon(bad), bad, "invalid text must be copied verbatim");
        }
        for good in [
            "0",
            "-0",
            "1.5",
            "1e5",
            "1E+5",
            "1e-05",
            "-0.0e0",
            "123456789012345678901234567890",
        ] {
            assert!(is_valid(good), "{good:?} rejected");
        }
    }
}
