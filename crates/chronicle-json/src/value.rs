//! Whole-value walks: equality, depth, size. All iterative, so they accept
//! values of any depth.

use serde_json::{map, Map, Value};

use crate::number;

/// JSON equality: objects compare as unordered maps, arrays element by
/// element, and numbers by exact decimal value (`1`, `1.0` and `10e-1` are
/// equal; `0.1` and `0.10000000000000001` are not).
///
/// This is the equality under which [`crate::canonical_string`] is
/// injective: `json_equal(a, b)` ⇔ `canonical_string(a) == canonical_string(b)`.
pub fn json_equal(a: &Value, b: &Value) -> bool {
    let mut pending = vec![(a, b)];
    while let Some((a, b)) = pending.pop() {
        let same = match (a, b) {
            (Value::Null, Value::Null) => true,
            (Value::Bool(a), Value::Bool(b)) => a == b,
            (Value::Number(a), Value::Number(b)) => number::numbers_equal(a.as_str(), b.as_str()),
            (Value::String(a), Value::String(b)) => a == b,
            (Value::Array(a), Value::Array(b)) => {
                pending.extend(a.iter().zip(b));
                a.len() == b.len()
            }
            (Value::Object(a), Value::Object(b)) => {
                a.len() == b.len()
                    && a.iter().all(|(key, a)| match b.get(key) {
                        Some(b) => {
                            pending.push((a, b));
                            true
                        }
                        None => false,
                    })
            }
            _ => false,
        };
        if !same {
            return false;
        }
    }
    true
}

/// Nesting depth: the number of arrays/objects on the longest path from
/// the root, counting the root (`1` → 0, `[]` → 1, `{"a":[1]}` → 2).
pub fn depth(value: &Value) -> usize {
    let mut deepest = 0;
    let mut pending = vec![(value, 0usize)];
    while let Some((value, above)) = pending.pop() {
        match value {
            Value::Array(items) => {
                deepest = deepest.max(above + 1);
                pending.extend(items.iter().map(|v| (v, above + 1)));
            }
            Value::Object(map) => {
                deepest = deepest.max(above + 1);
                pending.extend(map.values().map(|v| (v, above + 1)));
            }
            _ => {}
        }
    }
    deepest
}

/// Number of JSON values in `value`, itself included.
pub(crate) fn count_values(value: &Value) -> usize {
    let mut count = 0usize;
    let mut pending = vec![value];
    while let Some(value) = pending.pop() {
        count += 1;
        match value {
            Value::Array(items) => pending.extend(items),
            Value::Object(map) => pending.extend(map.values()),
            _ => {}
        }
    }
    count
}

/// A copy of `value`, made without recursion (serde_json's `Clone`
/// recurses once per nesting level, with large frames in debug builds).
pub(crate) fn clone_value(value: &Value) -> Value {
    /// A container being copied: the source members still to copy and the
    /// copy so far.
    enum Frame<'a> {
        Array(std::slice::Iter<'a, Value>, Vec<Value>),
        Object(map::Iter<'a>, Map<String, Value>, String),
    }

    let mut stack: Vec<Frame<'_>> = Vec::new();
    let mut next = value;
    loop {
        let mut finished = match next {
            Value::Array(items) => {
                stack.push(Frame::Array(items.iter(), Vec::with_capacity(items.len())));
                None
            }
            Value::Object(map) => {
                stack.push(Frame::Object(map.iter(), Map::new(), String::new()));
                None
            }
            scalar => Some(scalar.clone()),
        };
        // Hand finished copies to their parents until a member remains to be
        // copied, or the root is done.
        next = loop {
            let Some(frame) = stack.last_mut() else {
                return finished.unwrap_or(Value::Null);
            };
            let member = match frame {
                Frame::Array(source, copy) => {
                    copy.extend(finished.take());
                    source.next()
                }
                Frame::Object(source, copy, key) => {
                    if let Some(value) = finished.take() {
                        copy.insert(std::mem::take(key), value);
                    }
                    source.next().map(|(k, v)| {
                        key.clone_from(k);
                        v
                    })
                }
            };
            match member {
                Some(member) => break member,
                None => {
                    finished = stack.pop().map(|frame| match frame {
                        Frame::Array(_, copy) => Value::Array(copy),
                        Frame::Object(_, copy, _) => Value::Object(copy),
                    });
                }
            }
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clone_value_copies_exactly() {
        let text = r#"{"a":[1,1.0,{"b":[[],{}],"c":null},"s"],"":true,"z":{"y":{"x":[-0e5]}}}"#;
        let value: Value = serde_json::from_str(text).unwrap();
        let copy = clone_value(&value);
        // serde_json's derived equality also compares number spellings.
        assert_eq!(copy, value);
        assert_eq!(
            serde_json::to_string(&copy).unwrap(),
            serde_json::to_string(&value).unwrap()
        );
        for scalar in [
            Value::Null,
            Value::from(false),
            Value::from("x"),
            Value::from(7),
        ] {
            assert_eq!(clone_value(&scalar), scalar);
        }
    }

    #[test]
    fn depth_and_count() {
        let value: Value = serde_json::from_str(r#"[1,{"a":[[]]},[]]"#).unwrap();
        assert_eq!(depth(&value), 4);
        assert_eq!(count_values(&value), 6);
        assert_eq!(depth(&Value::Null), 0);
        assert_eq!(count_values(&Value::Null), 1);
    }
}
