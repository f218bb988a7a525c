//! The write-side SQL API of the state store, and the functions that need JSON Patch.
//! Every write goes through an `INSERT` into `chronicle.state_store`, so the functions
//! here and a direct `INSERT` get the same versioning from the trigger.

use pgrx::prelude::*;
use pgrx::spi::SpiClient;
use serde_json::Value;

use crate::errors::{raise, require_name};
use crate::jsonb::{Jsonb, JsonbDatum};
use crate::state::store;

/// Writes a new version of an entity's state and returns its number, or the current
/// number when the state is unchanged. With `expected_version` it is a compare-and-set:
/// the write happens only if that is the current version (0: the entity has none).
#[pg_extern]
fn put_state(
    entity_type: Option<&str>,
    entity_id: Option<&str>,
    state: Option<JsonbDatum>,
    expected_version: default!(Option<i32>, "NULL"),
    command_id: default!(Option<pgrx::Uuid>, "NULL"),
) -> i32 {
    let (entity_type, entity_id) = entity_key(entity_type, entity_id);
    Spi::connect_mut(|client| {
        if let Some(expected) = expected_version {
            let current = store::lock_entity(client, &entity_type, &entity_id).current_version();
            if current != expected {
                raise(
                    PgSqlErrorCode::ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
                    format!(
                        "version conflict on {entity_type}/{entity_id}: expected version {expected}, {}",
                        describe_current(current)
                    ),
                );
            }
        }
        store::write_state(client, &entity_type, &entity_id, state.into(), command_id)
    })
}

/// Applies an RFC 7396 JSON merge patch to the current state (an empty object when the
/// entity has no current version) and writes the result. The entity stays locked from
/// read to write, so concurrent patches never lose each other's changes.
#[pg_extern]
fn patch_state(
    entity_type: Option<&str>,
    entity_id: Option<&str>,
    patch: Option<Jsonb>,
    command_id: default!(Option<pgrx::Uuid>, "NULL"),
) -> i32 {
    let (entity_type, entity_id) = entity_key(entity_type, entity_id);
    let patch = match patch {
        Some(Jsonb(patch @ Value::Object(_))) => patch,
        Some(Jsonb(other)) => raise(
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            format!("patch must be a JSON object (an RFC 7396 merge patch), not {}", json_kind(&other)),
        ),
        None => raise(PgSqlErrorCode::ERRCODE_NULL_VALUE_NOT_ALLOWED, "patch must not be NULL"),
    };
    Spi::connect_mut(|client| {
        let entity = store::lock_entity(client, &entity_type, &entity_id);
        let current = entity
            .is_live
            .then(|| store::current_state(client, &entity_type, &entity_id))
            .flatten()
            .unwrap_or_else(|| Value::Object(Default::default()));
        let patched = chronicle_json::merge_patch(&current, &patch);
        store::write_state(client, &entity_type, &entity_id, Jsonb(patched).into(), command_id)
    })
}

/// Makes an earlier version's state current again, as a new version (history is never
/// rewritten). Returns the resulting current version.
#[pg_extern]
fn revert_state(
    entity_type: Option<&str>,
    entity_id: Option<&str>,
    to_version: Option<i32>,
    command_id: default!(Option<pgrx::Uuid>, "NULL"),
) -> i32 {
    let (entity_type, entity_id) = entity_key(entity_type, entity_id);
    let Some(to_version) = to_version else {
        raise(PgSqlErrorCode::ERRCODE_NULL_VALUE_NOT_ALLOWED, "to_version must not be NULL")
    };
    Spi::connect_mut(|client| {
        store::lock_entity(client, &entity_type, &entity_id);
        let state = version_state(client, &entity_type, &entity_id, to_version);
        store::write_state(client, &entity_type, &entity_id, Jsonb(state).into(), command_id)
    })
}

/// Ends an entity's current version; its history stays, and a later write continues the
/// numbering. Returns false when the entity had no current version.
#[pg_extern]
fn delete_state(entity_type: Option<&str>, entity_id: Option<&str>) -> bool {
    let (entity_type, entity_id) = entity_key(entity_type, entity_id);
    Spi::connect_mut(|client| store::delete_current(client, &entity_type, &entity_id).is_some())
}

/// The RFC 6902 JSON Patch that turns version `from_version` of an entity into
/// `to_version`.
#[pg_extern(stable, strict, parallel_safe)]
fn state_diff(entity_type: &str, entity_id: &str, from_version: i32, to_version: i32) -> Jsonb {
    Spi::connect_mut(|client| {
        let from = version_state(client, entity_type, entity_id, from_version);
        let to = version_state(client, entity_type, entity_id, to_version);
        Jsonb(chronicle_json::diff(&from, &to))
    })
}

fn entity_key(entity_type: Option<&str>, entity_id: Option<&str>) -> (String, String) {
    (require_name("entity_type", entity_type), require_name("entity_id", entity_id))
}

/// The state of a version that must exist; the error names the versions there are.
fn version_state(client: &mut SpiClient<'_>, entity_type: &str, entity_id: &str, version: i32) -> Value {
    store::state_at_version(client, entity_type, entity_id, version).unwrap_or_else(|| {
        let known = match store::last_version(client, entity_type, entity_id) {
            Some(last) if last > 0 => format!("its versions are 1 to {last}"),
            _ => "it has no versions".to_owned(),
        };
        raise(
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            format!("{entity_type}/{entity_id} has no version {version}: {known}"),
        )
    })
}

fn describe_current(current: i32) -> String {
    if current == 0 {
        "but it has no current version".to_owned()
    } else {
        format!("but the current version is {current}")
    }
}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
