//! RFC 6902 JSON Patch generation.

use serde_json::{Map, Value};

use crate::json_equal;
use crate::pointer::push_token;
use crate::value::clone_value;

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
/// are compared before descending).
pub fn diff(from: &Value, to: &Value) -> Value {
    let mut operations = Vec::new();
    // A work list instead of recursion. Tasks are pushed in reverse so that
    // they run in document order, giving a depth-first, readable patch.
    let mut tasks = vec![Task::Compare {
        path: String::new(),
        from,
        to,
    }];
    while let Some(task) = tasks.pop() {
        let (path, from, to) = match task {
            Task::Emit(operation) => {
                operations.push(operation);
                continue;
            }
            Task::Compare { path, from, to } => (path, from, to),
        };
        let mut subtasks = Vec::new();
        match (from, to) {
            (Value::Object(a), Value::Object(b)) => {
                let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
                keys.sort_unstable();
                keys.dedup();
                for key in keys {
                    let child = || child_path(&path, key);
                    match (a.get(key), b.get(key)) {
                        (Some(_), None) => {
                            subtasks.push(Task::Emit(operation("remove", child(), None)))
                        }
                        (None, Some(new)) => {
                            subtasks.push(Task::Emit(operation("add", child(), Some(new))))
                        }
                        (Some(old), Some(new)) => compare(&mut subtasks, child, old, new),
                        (None, None) => {}
                    }
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
                let a_middle = &a_rest[..a_rest.len() - suffix];
                let b_middle = &b_rest[..b_rest.len() - suffix];
                let paired = a_middle.len().min(b_middle.len());

                // Pairs first, then removals and additions: those only touch
                // positions after the pairs, so the pairs' indexes stay valid.
                for (i, (old, new)) in a_middle.iter().zip(b_middle).enumerate() {
                    let child = || child_path(&path, &(prefix + i).to_string());
                    compare(&mut subtasks, child, old, new);
                }
                for i in (prefix + paired..prefix + a_middle.len()).rev() {
                    let child = child_path(&path, &i.to_string());
                    subtasks.push(Task::Emit(operation("remove", child, None)));
                }
                for (i, new) in b_middle.iter().enumerate().skip(paired) {
                    let child = child_path(&path, &(prefix + i).to_string());
                    subtasks.push(Task::Emit(operation("add", child, Some(new))));
                }
            }
            _ => {
                if !json_equal(from, to) {
                    operations.push(operation("replace", path, Some(to)));
                }
            }
        }
        tasks.extend(subtasks.into_iter().rev());
    }
    Value::Array(operations)
}

enum Task<'a> {
    /// Diff `from` against `to`, which sit at `path`.
    Compare {
        path: String,
        from: &'a Value,
        to: &'a Value,
    },
    Emit(Value),
}

/// Queues the comparison of two members, handling the common case of
/// scalars right away so that unchanged scalars cost no path allocation.
fn compare<'a>(
    tasks: &mut Vec<Task<'a>>,
    path: impl FnOnce() -> String,
    old: &'a Value,
    new: &'a Value,
) {
    let is_container = |v: &Value| v.is_array() || v.is_object();
    if is_container(old) && is_container(new) {
        tasks.push(Task::Compare {
            path: path(),
            from: old,
            to: new,
        });
    } else if !json_equal(old, new) {
        tasks.push(Task::Emit(operation("replace", path(), Some(new))));
    }
}

fn child_path(parent: &str, token: &str) -> String {
    let mut path = String::with_capacity(parent.len() + token.len() + 1);
    path.push_str(parent);
    push_token(&mut path, token);
    path
}

fn operation(op: &str, path: String, value: Option<&Value>) -> Value {
    let mut operation = Map::new();
    operation.insert("op".to_owned(), Value::String(op.to_owned()));
    operation.insert("path".to_owned(), Value::String(path));
    if let Some(value) = value {
        operation.insert("value".to_owned(), clone_value(value));
    }
    Value::Object(operation)
}
