//! Binary and text encodings (see the FORMAT section of the crate docs).

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

use crate::mapping;
use crate::store::Store;
use crate::superacc::{self, SuperAcc};
use crate::{QuantileSketch, SketchError, Slot, MAX_BUCKETS};

const VERSION: u8 = 1;
const FLAG_NEGATIVE_SUM: u8 = 1;
const TEXT_PREFIX: &str = "qsketch:";

impl QuantileSketch {
    /// The canonical binary encoding (equal sketches give equal bytes).
    pub fn to_bytes(&self) -> Vec<u8> {
        let spans = self.positive.span(0) + self.negative.span(0);
        let mut out = Vec::with_capacity(64 + 3 * spans as usize);
        let negative_sum = self.sum.is_negative();
        out.push(VERSION);
        out.push(if negative_sum { FLAG_NEGATIVE_SUM } else { 0 });
        out.push(self.k as u8);
        put_varint(&mut out, self.count);
        if self.count == 0 {
            return out;
        }
        out.extend_from_slice(&self.min.to_le_bytes());
        out.extend_from_slice(&self.max.to_le_bytes());
        put_varint(&mut out, self.min_count);
        put_varint(&mut out, self.max_count);
        put_varint(&mut out, self.zero_count);
        put_store(&mut out, &self.negative);
        put_store(&mut out, &self.positive);
        let magnitude = self.sum.magnitude_bytes();
        match magnitude.iter().position(|&b| b != 0) {
            None => put_varint(&mut out, 0),
            Some(first) => {
                let last = magnitude.iter().rposition(|&b| b != 0).unwrap();
                put_varint(&mut out, (last - first + 1) as u64);
                put_varint(&mut out, first as u64);
                out.extend_from_slice(&magnitude[first..=last]);
            }
        }
        out
    }

    /// Decodes and fully validates a binary encoding.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, SketchError> {
        let mut r = Reader { buf: bytes, pos: 0 };
        if bytes.is_empty() {
            return Err(malformed("no data (empty input)".into()));
        }
        let version = r.byte("format version")?;
        if version != VERSION {
            return Err(malformed(format!(
                "unknown format version {version} (this build reads version {VERSION})"
            )));
        }
        let flags = r.byte("flags")?;
        if flags & !FLAG_NEGATIVE_SUM != 0 {
            return Err(malformed(format!("unknown flags 0x{flags:02x} at byte 1")));
        }
        let k = r.byte("resolution level")? as u32;
        if k > mapping::MAX_K {
            return Err(malformed(format!(
                "resolution level {k} at byte 2 exceeds the maximum {}",
                mapping::MAX_K
            )));
        }
        let count = r.varint("count")?;
        if count == 0 {
            if flags != 0 {
                return Err(malformed(
                    "an empty sketch cannot have a negative sum".into(),
                ));
            }
            r.finish()?;
            return Ok(QuantileSketch::empty(k));
        }

        let min = r.f64("minimum")?;
        let max = r.f64("maximum")?;
        for (name, v) in [("minimum", min), ("maximum", max)] {
            if !v.is_finite() {
                return Err(malformed(format!("{name} is not finite")));
            }
            if v.to_bits() == (-0.0f64).to_bits() {
                return Err(malformed(format!("{name} is negative zero")));
            }
        }
        if min > max {
            return Err(malformed(format!(
                "minimum {min} is greater than maximum {max}"
            )));
        }
        let min_count = r.varint("minimum count")?;
        let max_count = r.varint("maximum count")?;
        if min_count == 0 || max_count == 0 {
            return Err(malformed(
                "minimum and maximum counts must be at least 1".into(),
            ));
        }
        if min == max {
            if min_count != count || max_count != count {
                return Err(malformed(format!(
                    "minimum equals maximum, so their counts ({min_count}, {max_count}) must equal the total count {count}"
                )));
            }
        } else if min_count.checked_add(max_count).is_none_or(|c| c > count) {
            return Err(malformed(format!(
                "minimum and maximum counts ({min_count} + {max_count}) exceed the total count {count}"
            )));
        }
        let zero_count = r.varint("zero count")?;
        let negative = get_store(&mut r, k, "negative")?;
        let positive = get_store(&mut r, k, "positive")?;
        if negative.span(0) + positive.span(0) > MAX_BUCKETS as u64 {
            return Err(malformed(format!(
                "{} buckets exceed the budget of {MAX_BUCKETS}",
                negative.span(0) + positive.span(0)
            )));
        }
        let total = zero_count
            .checked_add(negative.total())
            .and_then(|t| t.checked_add(positive.total()));
        if total != Some(count) {
            return Err(malformed(format!(
                "bucket counts (zero {zero_count}, negative {}, positive {}) do not add up to the count {count}",
                negative.total(),
                positive.total()
            )));
        }
        let sum = get_sum(&mut r, flags & FLAG_NEGATIVE_SUM != 0)?;
        r.finish()?;

        let sketch = QuantileSketch {
            k,
            count,
            zero_count,
            min,
            max,
            min_count,
            max_count,
            positive,
            negative,
            sum,
        };
        sketch.check_extremes()?;
        let low = SuperAcc::scaled(min, count);
        let high = SuperAcc::scaled(max, count);
        if sketch.sum.compare(&low) == Ordering::Less
            || sketch.sum.compare(&high) == Ordering::Greater
        {
            return Err(malformed(
                "the sum is not between count*minimum and count*maximum".into(),
            ));
        }
        Ok(sketch)
    }

    /// Checks that min and max lie in the lowest and highest non-empty
    /// buckets and that their counts fit there.
    fn check_extremes(&self) -> Result<(), SketchError> {
        let lowest = self.slots().next();
        let highest = self.slots().last();
        let fits = |v: f64, extreme: Option<(Slot, u64)>, n: u64| match extreme {
            Some((slot, c)) if slot == self.slot_of(v) => Some(c >= n),
            _ => None,
        };
        match fits(self.min, lowest, self.min_count) {
            Some(true) => {}
            Some(false) => {
                return Err(malformed(format!(
                    "minimum count {} exceeds the count of its bucket",
                    self.min_count
                )))
            }
            None => {
                return Err(malformed(format!(
                    "minimum {} does not lie in the lowest non-empty bucket",
                    self.min
                )))
            }
        }
        match fits(self.max, highest, self.max_count) {
            Some(true) => Ok(()),
            Some(false) => Err(malformed(format!(
                "maximum count {} exceeds the count of its bucket",
                self.max_count
            ))),
            None => Err(malformed(format!(
                "maximum {} does not lie in the highest non-empty bucket",
                self.max
            ))),
        }
    }

    /// The text encoding: `qsketch:` + base64 of [`to_bytes`](Self::to_bytes).
    pub fn to_text(&self) -> String {
        let mut s = String::from(TEXT_PREFIX);
        base64_encode(&self.to_bytes(), &mut s);
        s
    }

    /// Parses the text encoding strictly.
    pub fn from_text(text: &str) -> Result<Self, SketchError> {
        let Some(body) = text.strip_prefix(TEXT_PREFIX) else {
            return Err(SketchError::MalformedText(format!(
                "expected the prefix \"{TEXT_PREFIX}\""
            )));
        };
        let bytes = base64_decode(body).map_err(SketchError::MalformedText)?;
        QuantileSketch::from_bytes(&bytes)
    }
}

impl fmt::Display for QuantileSketch {
    /// Writes the text encoding.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_text())
    }
}

impl FromStr for QuantileSketch {
    type Err = SketchError;

    fn from_str(s: &str) -> Result<Self, SketchError> {
        QuantileSketch::from_text(s)
    }
}

fn malformed(why: String) -> SketchError {
    SketchError::MalformedBytes(why)
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push(v as u8 | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

fn unzigzag(v: u64) -> i64 {
    (v >> 1) as i64 ^ -((v & 1) as i64)
}

fn put_store(out: &mut Vec<u8>, store: &Store) {
    let (first, counts) = store.occupied();
    put_varint(out, counts.len() as u64);
    if counts.is_empty() {
        return;
    }
    put_varint(out, zigzag(first));
    let mut n = 0;
    while n < counts.len() {
        if counts[n] > 0 {
            put_varint(out, counts[n]);
            n += 1;
        } else {
            let run = counts[n..].iter().take_while(|&&c| c == 0).count();
            out.push(0);
            put_varint(out, run as u64);
            n += run;
        }
    }
}

fn get_store(r: &mut Reader<'_>, k: u32, sign: &str) -> Result<Store, SketchError> {
    let what = format!("{sign} store");
    let span_at = r.pos;
    let span = r.varint(&what)?;
    if span == 0 {
        return Ok(Store::default());
    }
    if span > MAX_BUCKETS as u64 {
        return Err(malformed(format!(
            "{what} span {span} at byte {span_at} exceeds the budget of {MAX_BUCKETS} buckets"
        )));
    }
    let first_at = r.pos;
    let first = unzigzag(r.varint(&what)?);
    let (min_idx, max_idx) = mapping::index_range(k);
    let last = first.checked_add(span as i64 - 1);
    if first < min_idx || last.is_none_or(|l| l > max_idx) {
        return Err(malformed(format!(
            "{what} bucket indexes {first}..{} at byte {first_at} are out of range for resolution {k}",
            last.map_or("overflow".into(), |l| l.to_string())
        )));
    }
    // `span` is capped by the budget, so this allocation is bounded.
    let mut counts = Vec::with_capacity(span as usize);
    let mut total: u64 = 0;
    let mut previous_was_run = false;
    while counts.len() < span as usize {
        let at = r.pos;
        let c = r.varint(&what)?;
        if c > 0 {
            let idx = first + counts.len() as i64;
            if !mapping::bucket_holds_a_double(k, idx) {
                return Err(malformed(format!(
                    "{what} bucket {idx} (byte {at}) cannot hold any finite value at resolution {k}"
                )));
            }
            total = total
                .checked_add(c)
                .ok_or_else(|| malformed(format!("{what} counts overflow at byte {at}")))?;
            counts.push(c);
            previous_was_run = false;
            continue;
        }
        let run_at = r.pos;
        let run = r.varint(&what)?;
        let remaining = span as usize - counts.len();
        if counts.is_empty() || previous_was_run || run == 0 || run >= remaining as u64 {
            return Err(malformed(format!(
                "{what} has a non-canonical run of {run} empty buckets at byte {run_at}"
            )));
        }
        counts.resize(counts.len() + run as usize, 0);
        previous_was_run = true;
    }
    Ok(Store::from_counts(first, counts, total))
}

fn get_sum(r: &mut Reader<'_>, negative: bool) -> Result<SuperAcc, SketchError> {
    let len_at = r.pos;
    let len = r.varint("sum")?;
    if len == 0 {
        if negative {
            return Err(malformed("a zero sum cannot be negative".into()));
        }
        return Ok(SuperAcc::default());
    }
    let skip = r.varint("sum")?;
    if len > superacc::BYTES as u64 || skip > superacc::BYTES as u64 - len {
        return Err(malformed(format!(
            "sum of {len} bytes at offset {skip} (byte {len_at}) exceeds {} bytes",
            superacc::BYTES
        )));
    }
    let data_at = r.pos;
    let data = r.take(len as usize, "sum")?;
    if data[0] == 0 || data[data.len() - 1] == 0 {
        return Err(malformed(format!(
            "sum at byte {data_at} has non-canonical zero bytes"
        )));
    }
    let mut magnitude = [0u8; superacc::BYTES];
    magnitude[skip as usize..(skip + len) as usize].copy_from_slice(data);
    SuperAcc::from_magnitude_bytes(&magnitude, negative)
        .ok_or_else(|| malformed(format!("sum at byte {data_at} is out of range")))
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn truncated(&self, what: &str) -> SketchError {
        malformed(format!(
            "truncated at byte {} while reading the {what}",
            self.pos
        ))
    }

    fn byte(&mut self, what: &str) -> Result<u8, SketchError> {
        let b = *self.buf.get(self.pos).ok_or_else(|| self.truncated(what))?;
        self.pos += 1;
        Ok(b)
    }

    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], SketchError> {
        if self.buf.len() - self.pos < n {
            return Err(self.truncated(what));
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    fn f64(&mut self, what: &str) -> Result<f64, SketchError> {
        let bytes = self.take(8, what)?;
        Ok(f64::from_le_bytes(bytes.try_into().unwrap()))
    }

    /// Canonical LEB128: no overlong forms, nothing beyond 64 bits.
    fn varint(&mut self, what: &str) -> Result<u64, SketchError> {
        let start = self.pos;
        let mut v: u64 = 0;
        for n in 0..10 {
            let b = self.byte(what)?;
            let bits = (b & 0x7f) as u64;
            if n == 9 && b > 1 {
                return Err(malformed(format!(
                    "number at byte {start} in the {what} exceeds 64 bits"
                )));
            }
            v |= bits << (7 * n);
            if b & 0x80 == 0 {
                if b == 0 && n > 0 {
                    return Err(malformed(format!(
                        "overlong number encoding at byte {start} in the {what}"
                    )));
                }
                return Ok(v);
            }
        }
        unreachable!("the tenth byte either ends the number or is rejected")
    }

    fn finish(&self) -> Result<(), SketchError> {
        if self.pos == self.buf.len() {
            Ok(())
        } else {
            Err(malformed(format!(
                "{} unexpected trailing bytes at byte {}",
                self.buf.len() - self.pos,
                self.pos
            )))
        }
    }
}

const BASE64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

fn base64_encode(bytes: &[u8], out: &mut String) {
    out.reserve(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (b[0] as u32) << 16 | (b[1] as u32) << 8 | b[2] as u32;
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(BASE64[(n >> (18 - 6 * i)) as usize & 63] as char);
            } else {
                out.push('=');
            }
        }
    }
}

fn base64_decode(text: &str) -> Result<Vec<u8>, String> {
    let t = text.as_bytes();
    if t.is_empty() {
        return Err("no data after the prefix".into());
    }
    if !t.len().is_multiple_of(4) {
        return Err(format!("base64 length {} is not a multiple of 4", t.len()));
    }
    let padding = t.iter().rev().take_while(|&&c| c == b'=').count();
    if padding > 2 {
        return Err("too much base64 padding".into());
    }
    let mut out = Vec::with_capacity(t.len() / 4 * 3);
    let data_len = t.len() - padding;
    let mut acc: u32 = 0;
    let mut bits = 0;
    for (n, &c) in t[..data_len].iter().enumerate() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => {
                return Err(format!(
                    "invalid base64 character {:?} at position {}",
                    char_at(text, n),
                    n + TEXT_PREFIX.len()
                ));
            }
        };
        acc = (acc << 6) | v as u32;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    if acc != 0 {
        return Err("non-canonical base64: unused bits are not zero".into());
    }
    Ok(out)
}

/// The character starting at byte `n` (which may be inside a multi-byte one).
fn char_at(text: &str, n: usize) -> char {
    let mut start = n;
    while !text.is_char_boundary(start) {
        start -= 1;
    }
    text[start..].chars().next().unwrap_or('?')
}
