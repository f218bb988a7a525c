//! RFC 6902 JSON Patch application.

use serde_json::{Map, Value};

use crate::pointer::{array_index, ArrayIndex, Pointer};
use crate::value::{clone_value, count_values, depth};
use crate::{json_equal, JsonError, PatchError, MAX_COPIED_VALUES, MAX_DEPTH};

/// Applies the JSON Patch `patch` (RFC 6902) to `doc`.
///
/// Supports `add`, `remove`, `replace`, `move`, `copy` and `test` with the
/// RFC's semantics: `-` appends to an array (`add` only), array indexes with
/// leading zeros are rejected, missing locations are errors, `test` compares
/// with [`json_equal`], members an operation does not use are ignored.
///
/// Atomic: on error nothing is returned but the error, which names the
/// failing operation by its 0-based position. Removing the whole document
/// (`remove` with path `""`) is an error.
///
/// Resource limits, so that a small patch cannot exhaust the backend: `doc`
/// and every intermediate result must stay within [`MAX_DEPTH`], and `copy`
/// operations may duplicate at most [`MAX_COPIED_VALUES`] values in total
/// (repeatedly copying a document into itself would double it each time).
pub fn apply_patch(doc: &Value, patch: &Value) -> Result<Value, JsonError> {
    let Value::Array(operations) = patch else {
        return Err(JsonError::PatchNotArray);
    };
    // The result is dropped by the caller, and serde_json's Drop recurses.
    if depth(doc) > MAX_DEPTH {
        return Err(JsonError::TooDeep);
    }
    let mut result = clone_value(doc);
    let mut copy_budget = MAX_COPIED_VALUES;
    for (index, operation) in operations.iter().enumerate() {
        apply_operation(&mut result, operation, &mut copy_budget)
            .map_err(|error| JsonError::Patch { index, error })?;
    }
    Ok(result)
}

fn apply_operation(
    doc: &mut Value,
    operation: &Value,
    copy_budget: &mut usize,
) -> Result<(), PatchError> {
    let Value::Object(operation) = operation else {
        return Err(PatchError::NotAnObject);
    };
    let op = string_member(operation, "op")?;
    if !matches!(op, "add" | "remove" | "replace" | "move" | "copy" | "test") {
        return Err(PatchError::UnknownOp(op.to_owned()));
    }
    let path = Pointer::parse(string_member(operation, "path")?)?;
    match op {
        "add" => {
            let value = value_member(operation, &path)?;
            add(doc, &path, value)
        }
        "remove" => remove(doc, &path, "path").map(drop),
        "replace" => {
            let value = value_member(operation, &path)?;
            *lookup_mut(doc, &path)? = value;
            Ok(())
        }
        "move" => {
            let from = Pointer::parse(string_member(operation, "from")?)?;
            if from.tokens == path.tokens {
                return lookup(doc, &from, "from").map(drop);
            }
            if from.is_proper_prefix_of(&path) {
                return Err(PatchError::MoveIntoChild {
                    from: from.text.to_owned(),
                    path: path.text.to_owned(),
                });
            }
            if path.tokens.len() > from.tokens.len() {
                check_depth(&path, lookup(doc, &from, "from")?)?;
            }
            let value = remove(doc, &from, "from")?;
            add(doc, &path, value)
        }
        "copy" => {
            let from = Pointer::parse(string_member(operation, "from")?)?;
            let source = lookup(doc, &from, "from")?;
            check_depth(&path, source)?;
            *copy_budget = copy_budget
                .checked_sub(count_values(source))
                .ok_or(PatchError::TooLarge)?;
            let value = clone_value(source);
            add(doc, &path, value)
        }
        _ => {
            let expected = operation
                .get("value")
                .ok_or(PatchError::MissingMember("value"))?;
            if json_equal(lookup(doc, &path, "path")?, expected) {
                Ok(())
            } else {
                Err(PatchError::TestFailed {
                    pointer: path.text.to_owned(),
                })
            }
        }
    }
}

fn string_member<'a>(
    operation: &'a Map<String, Value>,
    name: &'static str,
) -> Result<&'a str, PatchError> {
    match operation.get(name) {
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(PatchError::NotAString(name)),
        None => Err(PatchError::MissingMember(name)),
    }
}

/// The operation's `value`, cloned once it is known to fit under `path`.
fn value_member(operation: &Map<String, Value>, path: &Pointer<'_>) -> Result<Value, PatchError> {
    let value = operation
        .get("value")
        .ok_or(PatchError::MissingMember("value"))?;
    check_depth(path, value)?;
    Ok(clone_value(value))
}

/// Placing `value` at `path` nests it under one container per token.
fn check_depth(path: &Pointer<'_>, value: &Value) -> Result<(), PatchError> {
    if path.tokens.len().saturating_add(depth(value)) > MAX_DEPTH {
        Err(PatchError::TooDeep)
    } else {
        Ok(())
    }
}

/// Why a walk along a pointer stopped.
enum Missing {
    /// Some location on the way does not exist.
    Location,
    /// An array was addressed with a token that is not an index.
    BadIndex(String),
}

impl Missing {
    fn into_error(self, member: &'static str, pointer: &Pointer<'_>) -> PatchError {
        match self {
            Missing::Location => PatchError::NotFound {
                member,
                pointer: pointer.text.to_owned(),
            },
            Missing::BadIndex(token) => PatchError::InvalidIndex {
                pointer: pointer.text.to_owned(),
                token,
            },
        }
    }
}

/// Position of an existing element of an array of `len` elements.
fn existing_index(token: &str, len: usize) -> Result<usize, Missing> {
    match array_index(token) {
        Some(ArrayIndex::At(index)) if index < len => Ok(index),
        Some(_) => Err(Missing::Location),
        None => Err(Missing::BadIndex(token.to_owned())),
    }
}

fn walk<'v>(doc: &'v Value, tokens: &[String]) -> Result<&'v Value, Missing> {
    let mut current = doc;
    for token in tokens {
        current = match current {
            Value::Object(map) => map.get(token),
            Value::Array(items) => items.get(existing_index(token, items.len())?),
            _ => None,
        }
        .ok_or(Missing::Location)?;
    }
    Ok(current)
}

fn walk_mut<'v>(doc: &'v mut Value, tokens: &[String]) -> Result<&'v mut Value, Missing> {
    let mut current = doc;
    for token in tokens {
        current = match current {
            Value::Object(map) => map.get_mut(token),
            Value::Array(items) => {
                let index = existing_index(token, items.len())?;
                items.get_mut(index)
            }
            _ => None,
        }
        .ok_or(Missing::Location)?;
    }
    Ok(current)
}

fn lookup<'v>(
    doc: &'v Value,
    pointer: &Pointer<'_>,
    member: &'static str,
) -> Result<&'v Value, PatchError> {
    walk(doc, &pointer.tokens).map_err(|m| m.into_error(member, pointer))
}

fn lookup_mut<'v>(doc: &'v mut Value, pointer: &Pointer<'_>) -> Result<&'v mut Value, PatchError> {
    walk_mut(doc, &pointer.tokens).map_err(|m| m.into_error("path", pointer))
}

fn add(doc: &mut Value, path: &Pointer<'_>, value: Value) -> Result<(), PatchError> {
    let Some((last, parents)) = path.tokens.split_last() else {
        *doc = value;
        return Ok(());
    };
    let parent_not_found = || PatchError::ParentNotFound {
        pointer: path.text.to_owned(),
    };
    let parent = walk_mut(doc, parents).map_err(|m| match m {
        Missing::Location => parent_not_found(),
        bad_index => bad_index.into_error("path", path),
    })?;
    match parent {
        Value::Object(map) => {
            map.insert(last.clone(), value);
        }
        Value::Array(items) => {
            let index = match array_index(last) {
                Some(ArrayIndex::At(index)) => index,
                Some(ArrayIndex::End) => items.len(),
                None => return Err(Missing::BadIndex(last.clone()).into_error("path", path)),
            };
            if index > items.len() {
                return Err(PatchError::IndexOutOfBounds {
                    pointer: path.text.to_owned(),
                    index,
                    len: items.len(),
                });
            }
            items.insert(index, value);
        }
        _ => return Err(parent_not_found()),
    }
    Ok(())
}

fn remove(
    doc: &mut Value,
    pointer: &Pointer<'_>,
    member: &'static str,
) -> Result<Value, PatchError> {
    let Some((last, parents)) = pointer.tokens.split_last() else {
        return Err(PatchError::RemoveRoot);
    };
    let removed = match walk_mut(doc, parents) {
        Ok(Value::Object(map)) => map.remove(last).ok_or(Missing::Location),
        Ok(Value::Array(items)) => {
            existing_index(last, items.len()).map(|index| items.remove(index))
        }
        Ok(_) => Err(Missing::Location),
        Err(missing) => Err(missing),
    };
    removed.map_err(|m| m.into_error(member, pointer))
}
