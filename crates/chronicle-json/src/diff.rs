//! RFC 6902 JSON Patch generation.

use std::convert::Infallible;

use serde_json::{Map, Value};

use crate::json_equal;
use crate::pointer::push_token;
use crate::size::{canonical_len, string_len};
use crate::value::clone_value;
use crate::JsonError;

/// A JSON Patch (an array of `add`, `remove` and `replace` operations) that
/// turns `from` into `to`: `apply_patch(from, &diff(from, to))` is
/// [`json_equal`] to `to`, and values that are already `json_equal` (for
/// example `1` and `1.0`) produce `[]`.
///
/// Objects are compared member by member, in key order. Arrays keep their
/// longest common prefix and suffix; the remaining middle parts are paired
/// up element by element (each pair diffed in place) and whatever is left
/// over is removed (highest index first) or added. Values of different
/// types, and different scalars, are replaced whole.
///
/// Iterative, and works for any depth. The time is linear in the size of
/// the documents times their depth at worst (array prefixes and suffixes
/// are compared before descending). The patch itself can be far larger than
/// both documents, as every operation spells out its path: use
/// [`diff_bounded`] where the documents are not trusted.
pub fn diff(from: &Value, to: &Value) -> Value {
    let Ok(patch) = build_patch(from, to, &mut Unlimited);
    patch
}

/// [`diff`], giving up with [`JsonError::TooLarge`] as soon as the patch would be longer
/// than `max_bytes` as [canonical](crate::canonical_string) JSON text.
///
/// The size is exact, not estimated: `diff_bounded(from, to, max_bytes)` is
/// `Ok(diff(from, to))` exactly when [`canonical_len`](crate::canonical_len)`(&diff(from,
/// to)) <= max_bytes`. Each operation is measured before it is built, so the memory used
/// stays proportional to `max_bytes` plus the size of the documents, however large the
/// complete patch would have been. (A patch in another compact layout, such as
/// serde_json's, differs only in how its numbers are spelled.)
pub fn diff_bounded(from: &Value, to: &Value, max_bytes: usize) -> Result<Value, JsonError> {
    if max_bytes < "[]".len() {
        return Err(JsonError::TooLarge { limit: max_bytes });
    }
    build_patch(
        from,
        to,
        &mut Limit {
            max_bytes,
            used: "[]".len(),
            first: true,
        },
    )
}

/// Decides whether each operation may join the patch.
trait Budget {
    type Error;
    fn admit(&mut self, op: &str, path: &str, value: Option<&Value>) -> Result<(), Self::Error>;
}

struct Unlimited;

impl Budget for Unlimited {
    type Error = Infallible;
    fn admit(&mut self, _: &str, _: &str, _: Option<&Value>) -> Result<(), Infallible> {
        Ok(())
    }
}

/// Keeps the canonical length of the patch so far, brackets included.
struct Limit {
    max_bytes: usize,
    used: usize,
    first: bool,
}

impl Budget for Limit {
    type Error = JsonError;
    fn admit(&mut self, op: &str, path: &str, value: Option<&Value>) -> Result<(), JsonError> {
        // `{"op":"…","path":…,"value":…}`, keys in canonical order; op names need no
        // escaping.
        let mut len = r#"{"op":"","path":}"#.len() + op.len() + string_len(path);
        if let Some(value) = value {
            len = len
                .saturating_add(r#","value":"#.len())
                .saturating_add(canonical_len(value));
        }
        if !self.first {
            len = len.saturating_add(1);
        }
        self.first = false;
        self.used = self.used.saturating_add(len);
        if self.used > self.max_bytes {
            return Err(JsonError::TooLarge {
                limit: self.max_bytes,
            });
        }
        Ok(())
    }
}

/// A pair of containers whose members are being compared. Frames form a
/// depth-first walk that shares one path buffer: each frame knows how long
/// the path to its container is, and cuts the buffer back to that before
/// appending a member's token. Pending work thus holds no paths of its own,
/// which could otherwise add up to depth × members bytes.
struct Frame<'a> {
    path_len: usize,
    members: Members<'a>,
}

enum Members<'a> {
    /// All keys of both objects in order, and the position of the next one.
    Object {
        from: &'a Map<String, Value>,
        to: &'a Map<String, Value>,
        keys: Vec<&'a String>,
        next: usize,
    },
    /// The differing middle parts of two arrays, starting at index
    /// `prefix`. Steps `0..paired` compare pairs; the rest remove the
    /// surplus of `from` (highest index first) or add that of `to`.
    Array {
        from: &'a [Value],
        to: &'a [Value],
        prefix: usize,
        next: usize,
    },
}

/// What the next member of a frame calls for.
enum Step<'a> {
    Compare(&'a Value, &'a Value),
    Remove,
    Add(&'a Value),
}

impl<'a> Frame<'a> {
    /// Appends the next member's token to `path` and says what to do with it.
    fn next(&mut self, path: &mut String) -> Option<Step<'a>> {
        path.truncate(self.path_len);
        match &mut self.members {
            Members::Object {
                from,
                to,
                keys,
                next,
            } => {
                loop {
                    let key = *keys.get(*next)?;
                    *next += 1;
                    let step = match (from.get(key), to.get(key)) {
                        (Some(old), Some(new)) => Step::Compare(old, new),
                        (Some(_), None) => Step::Remove,
                        (None, Some(new)) => Step::Add(new),
                        // Every key comes from one of the objects.
                        (None, None) => continue,
                    };
                    push_token(path, key);
                    return Some(step);
                }
            }
            Members::Array {
                from,
                to,
                prefix,
                next,
            } => {
                let step = *next;
                let paired = from.len().min(to.len());
                if step >= from.len().max(to.len()) {
                    return None;
                }
                *next += 1;
                let (index, step) = if step < paired {
                    (step, Step::Compare(&from[step], &to[step]))
                } else if from.len() > paired {
                    (from.len() - 1 - (step - paired), Step::Remove)
                } else {
                    (step, Step::Add(&to[step]))
                };
                push_token(path, &(*prefix + index).to_string());
                Some(step)
            }
        }
    }
}

/// The frame comparing two containers of the same kind; `None` for
/// anything else.
fn open<'a>(path_len: usize, from: &'a Value, to: &'a Value) -> Option<Frame<'a>> {
    let members = match (from, to) {
        (Value::Object(a), Value::Object(b)) => {
            let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
            keys.sort_unstable();
            keys.dedup();
            Members::Object {
                from: a,
                to: b,
                keys,
                next: 0,
            }
        }
        (Value::Array(a), Value::Array(b)) => {
            let prefix = a
                .iter()
                .zip(b)
                .take_while(|(x, y)| json_equal(x, y))
                .count();
            let (a_rest, b_rest) = (&a[prefix..], &b[prefix..]);
            let suffix = a_rest
                .iter()
                .rev()
                .zip(b_rest.iter().rev())
                .take_while(|(x, y)| json_equal(x, y))
                .count();
            // Pairs first, then removals and additions: those only touch
            // positions after the pairs, so the pairs' indexes stay valid.
            Members::Array {
                from: &a_rest[..a_rest.len() - suffix],
                to: &b_rest[..b_rest.len() - suffix],
                prefix,
                next: 0,
            }
        }
        _ => return None,
    };
    Some(Frame { path_len, members })
}

fn build_patch<B: Budget>(from: &Value, to: &Value, budget: &mut B) -> Result<Value, B::Error> {
    let mut operations = Vec::new();
    let mut path = String::new();
    let mut stack: Vec<Frame<'_>> = Vec::new();
    let mut step = Some(Step::Compare(from, to));
    loop {
        match step {
            Some(Step::Compare(old, new)) => match open(path.len(), old, new) {
                Some(frame) => stack.push(frame),
                None => {
                    if !json_equal(old, new) {
                        budget.admit("replace", &path, Some(new))?;
                        operations.push(operation("replace", &path, Some(new)));
                    }
                }
            },
            Some(Step::Remove) => {
                budget.admit("remove", &path, None)?;
                operations.push(operation("remove", &path, None));
            }
            Some(Step::Add(new)) => {
                budget.admit("add", &path, Some(new))?;
                operations.push(operation("add", &path, Some(new)));
            }
            None => {}
        }
        step = loop {
            let Some(frame) = stack.last_mut() else {
                return Ok(Value::Array(operations));
            };
            match frame.next(&mut path) {
                Some(step) => break Some(step),
                None => {
                    stack.pop();
                }
            }
        };
    }
}

fn operation(op: &str, path: &str, value: Option<&Value>) -> Value {
    let mut operation = Map::new();
    operation.insert("op".to_owned(), Value::String(op.to_owned()));
    operation.insert("path".to_owned(), Value::String(path.to_owned()));
    if let Some(value) = value {
        operation.insert("value".to_owned(), clone_value(value));
    }
    Value::Object(operation)
}
