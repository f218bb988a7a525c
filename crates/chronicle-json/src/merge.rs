//! RFC 7396 JSON Merge Patch.

use serde_json::{Map, Value};

use crate::value::clone_value;

/// Applies the JSON Merge Patch `patch` to `target` (RFC 7396) and returns
/// the result.
///
/// An object patch merges member by member: `null` removes the member,
/// an object merges recursively (into `{}` when the member is missing or not
/// an object), anything else replaces the member. A non-object patch
/// replaces the whole target. Merge patches cannot fail; callers that only
/// accept object patches (like `patch_state`) check that themselves.
///
/// The result is never deeper than the deeper of the two inputs. Iterative;
/// only dropping the replaced parts of `target`'s copy recurses.
pub fn merge_patch(target: &Value, patch: &Value) -> Value {
    let Value::Object(patch) = patch else {
        return clone_value(patch);
    };
    let mut result = clone_value(target);
    let mut pending: Vec<(&mut Value, &Map<String, Value>)> = vec![(&mut result, patch)];
    while let Some((target, patch)) = pending.pop() {
        if !target.is_object() {
            *target = Value::Object(Map::new());
        }
        let Value::Object(members) = target else {
            continue; // cannot happen: just made it an object
        };
        for (key, change) in patch {
            match change {
                Value::Null => {
                    members.remove(key);
                }
                Value::Object(_) => {
                    // Merged below, once all members are in place.
                    if !members.get(key).is_some_and(Value::is_object) {
                        members.insert(key.clone(), Value::Object(Map::new()));
                    }
                }
                _ => {
                    members.insert(key.clone(), clone_value(change));
                }
            }
        }
        if !patch.values().any(Value::is_object) {
            continue;
        }
        // Iterating the members mutably is what lets several children be
        // borrowed at once for the work list.
        for (key, member) in members {
            if let Some(Value::Object(nested)) = patch.get(key) {
                pending.push((member, nested));
            }
        }
    }
    result
}
