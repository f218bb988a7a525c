//! Canonical serialization and checksums (rules in the crate documentation).

use serde_json::{map, Map, Value};
use sha2::{Digest, Sha256};

use crate::number;

/// Appends the canonical JSON text of `value` to `out`.
///
/// Iterative: works for values of any depth with constant stack use.
pub fn write_canonical(value: &Value, out: &mut Vec<u8>) {
    let mut stack: Vec<Frame<'_>> = Vec::new();
    let mut current = value;
    loop {
        match current {
            Value::Null => out.extend_from_slice(b"null"),
            Value::Bool(true) => out.extend_from_slice(b"true"),
            Value::Bool(false) => out.extend_from_slice(b"false"),
            Value::Number(n) => number::write_canonical(n.as_str(), out),
            Value::String(s) => write_string(s, out),
            Value::Array(items) => {
                out.push(b'[');
                stack.push(Frame {
                    members: Members::Array(items.iter()),
                    started: false,
                });
            }
            Value::Object(map) => {
                out.push(b'{');
                stack.push(Frame {
                    members: Members::object(map),
                    started: false,
                });
            }
        }

        // Find the next value to write, closing every finished container.
        current = loop {
            let Some(frame) = stack.last_mut() else {
                return;
            };
            match frame.members.next() {
                Some((key, value)) => {
                    if frame.started {
                        out.push(b',');
                    }
                    frame.started = true;
                    if let Some(key) = key {
                        write_string(key, out);
                        out.push(b':');
                    }
                    break value;
                }
                None => {
                    out.push(frame.members.closing());
                    stack.pop();
                }
            }
        };
    }
}

/// The canonical JSON text of `value`.
pub fn canonical_string(value: &Value) -> String {
    let bytes = canonical_bytes(value);
    // The writer only emits UTF-8; the fallback exists to avoid a panic path.
    String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// The canonical JSON text of `value` as bytes.
pub fn canonical_bytes(value: &Value) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    write_canonical(value, &mut out);
    out
}

/// Lowercase hexadecimal SHA-256 of the canonical JSON text of `value`
/// (64 characters).
pub fn checksum(value: &Value) -> String {
    checksum_of_canonical(&canonical_bytes(value))
}

/// Lowercase hexadecimal SHA-256 of canonical JSON text already written by
/// [`write_canonical`], for callers that also need the text (its length, say).
pub fn checksum_of_canonical(canonical: &[u8]) -> String {
    let digest = Sha256::digest(canonical);
    let mut hex = String::with_capacity(64);
    for byte in digest.iter() {
        hex.push(char::from(HEX[usize::from(byte >> 4)]));
        hex.push(char::from(HEX[usize::from(byte & 0x0f)]));
    }
    hex
}

struct Frame<'a> {
    members: Members<'a>,
    started: bool,
}

enum Members<'a> {
    Array(std::slice::Iter<'a, Value>),
    /// The map already iterates in canonical key order (serde_json's default
    /// BTreeMap does), so no sorting or allocation is needed.
    SortedObject(map::Iter<'a>),
    /// With serde_json's `preserve_order` feature the map keeps insertion
    /// order and the members have to be sorted here.
    UnsortedObject(std::vec::IntoIter<(&'a String, &'a Value)>),
}

impl<'a> Members<'a> {
    fn object(map: &'a Map<String, Value>) -> Self {
        // `String`'s ordering is byte-wise, i.e. UTF-8 byte order.
        if map.keys().is_sorted() {
            Members::SortedObject(map.iter())
        } else {
            let mut members: Vec<_> = map.iter().collect();
            members.sort_unstable_by(|a, b| a.0.cmp(b.0));
            Members::UnsortedObject(members.into_iter())
        }
    }

    fn next(&mut self) -> Option<(Option<&'a String>, &'a Value)> {
        match self {
            Members::Array(items) => items.next().map(|v| (None, v)),
            Members::SortedObject(iter) => iter.next().map(|(k, v)| (Some(k), v)),
            Members::UnsortedObject(iter) => iter.next().map(|(k, v)| (Some(k), v)),
        }
    }

    fn closing(&self) -> u8 {
        match self {
            Members::Array(_) => b']',
            _ => b'}',
        }
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// For each byte: 0 if it is written literally, `u` if it needs a `\u00XX`
/// escape, otherwise the letter of its short escape.
static ESCAPE: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut i = 0;
    while i < 0x20 {
        table[i] = b'u';
        i += 1;
    }
    table[0x08] = b'b';
    table[0x09] = b't';
    table[0x0a] = b'n';
    table[0x0c] = b'f';
    table[0x0d] = b'r';
    table[b'"' as usize] = b'"';
    table[b'\\' as usize] = b'\\';
    table
};

/// Appends `s` as a canonical JSON string literal.
pub(crate) fn write_string(s: &str, out: &mut Vec<u8>) {
    out.push(b'"');
    let bytes = s.as_bytes();
    let mut literal_start = 0;
    for (i, &byte) in bytes.iter().enumerate() {
        let escape = ESCAPE[usize::from(byte)];
        if escape == 0 {
            continue;
        }
        out.extend_from_slice(bytes.get(literal_start..i).unwrap_or_default());
        if escape == b'u' {
            out.extend_from_slice(b"\\u00");
            out.push(HEX[usize::from(byte >> 4)]);
            out.push(HEX[usize::from(byte & 0x0f)]);
        } else {
            out.push(b'\\');
            out.push(escape);
        }
        literal_start = i + 1;
    }
    out.extend_from_slice(bytes.get(literal_start..).unwrap_or_default());
    out.push(b'"');
}
