//! Lengths of serialized text, computed without writing it.
//!
//! Derived text can be far larger than the value it comes from: pretty-printing a
//! document nested 990 deep indents each of its leaves by about 2 KB. Callers measure
//! first and refuse what is too large, rather than fail to allocate it. All sums
//! saturate at `usize::MAX`, and the walks are iterative, so any value can be measured.

use serde_json::Value;

use crate::number;

/// The exact length in bytes of `serde_json::to_string_pretty(value)`: two-space indents,
/// `": "` after keys, one member or element per line, `[]` and `{}` for empty containers,
/// strings escaped as serde_json does, and numbers as their stored text (the
/// `arbitrary_precision` feature keeps it).
pub fn pretty_len(value: &Value) -> usize {
    let mut len = 0usize;
    let mut pending = vec![(value, 0usize)];
    while let Some((value, level)) = pending.pop() {
        let children = match value {
            Value::Array(items) if !items.is_empty() => items.len(),
            Value::Object(map) if !map.is_empty() => {
                for key in map.keys() {
                    len = len
                        .saturating_add(string_len(key))
                        .saturating_add(": ".len());
                }
                map.len()
            }
            _ => {
                len = len.saturating_add(scalar_or_empty_len(value, |text| text.len()));
                continue;
            }
        };
        // `[`, a line break and the indent before `]`, `]`; each child on its own line
        // one level deeper, the lines after the first following a `,`.
        let indent = |level: usize| level.saturating_mul(2);
        let per_child = indent(level.saturating_add(1)).saturating_add(1);
        len = len
            .saturating_add(3)
            .saturating_add(indent(level))
            .saturating_add(children.saturating_mul(per_child))
            .saturating_add(children - 1);
        match value {
            Value::Array(items) => pending.extend(items.iter().map(|v| (v, level + 1))),
            Value::Object(map) => pending.extend(map.values().map(|v| (v, level + 1))),
            _ => {}
        }
    }
    len
}

/// The exact length in bytes of [`crate::canonical_string`]`(value)`.
pub fn canonical_len(value: &Value) -> usize {
    let mut len = 0usize;
    let mut digits = Vec::new();
    let mut pending = vec![value];
    while let Some(value) = pending.pop() {
        match value {
            Value::Array(items) if !items.is_empty() => {
                // Brackets and the commas between elements.
                len = len.saturating_add(items.len() + 1);
                pending.extend(items);
            }
            Value::Object(map) if !map.is_empty() => {
                // Braces, commas, and each key with its `:`.
                len = len.saturating_add(map.len() + 1);
                for key in map.keys() {
                    len = len.saturating_add(string_len(key)).saturating_add(1);
                }
                pending.extend(map.values());
            }
            _ => {
                // Canonical numbers are rewritten, and only writing one tells its length;
                // it is at most a few bytes longer than the number's own text.
                let canonical_number = |text: &str| {
                    digits.clear();
                    number::write_canonical(text, &mut digits);
                    digits.len()
                };
                len = len.saturating_add(scalar_or_empty_len(value, canonical_number));
            }
        }
    }
    len
}

/// The length of a scalar or empty container, the same compact or pretty; `number` gives
/// the length of a number's text.
fn scalar_or_empty_len(value: &Value, mut number: impl FnMut(&str) -> usize) -> usize {
    match value {
        Value::Null => "null".len(),
        Value::Bool(true) => "true".len(),
        Value::Bool(false) => "false".len(),
        Value::Number(n) => number(n.as_str()),
        Value::String(s) => string_len(s),
        Value::Array(_) | Value::Object(_) => 2,
    }
}

/// The length of `s` as a JSON string literal, quotes included. serde_json and the
/// canonical form escape alike: two bytes for `"`, `\` and the five control characters
/// with short escapes, six (`\u00XX`) for the other control characters.
pub(crate) fn string_len(s: &str) -> usize {
    let escapes: usize = s
        .bytes()
        .map(|byte| match byte {
            b'"' | b'\\' | 0x08 | 0x09 | 0x0a | 0x0c | 0x0d => 1,
            0x00..=0x1f => 5,
            _ => 0,
        })
        .sum();
    s.len().saturating_add(escapes).saturating_add(2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_match_the_written_text() {
        let mut every_ascii = String::new();
        every_ascii.extend((0u8..0x80).map(char::from));
        let texts = [
            "1",
            "-0.0e5",
            "1e21",
            "\"\"",
            "[]",
            "{}",
            "[[]]",
            "{\"a\":{}}",
            "[1,[2,[3,{}]],{\"k\":[]}]",
            "{\"é\\u0000\":\"\\u2028😀\",\"\\\"\":[null,true,false,1.50,1E2]}",
        ];
        let mut values: Vec<Value> = texts
            .iter()
            .map(|text| crate::parse(text).unwrap())
            .collect();
        values.push(Value::String(every_ascii.clone()));
        values.push(serde_json::json!({ every_ascii.clone(): [every_ascii] }));
        for value in values {
            let pretty = serde_json::to_string_pretty(&value).unwrap();
            assert_eq!(pretty_len(&value), pretty.len(), "{pretty}");
            assert_eq!(
                canonical_len(&value),
                crate::canonical_string(&value).len(),
                "{pretty}"
            );
        }
    }
}
