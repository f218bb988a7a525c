//! The write-side SQL API of the state store, and the functions that need JSON Patch.
//! Every write goes through `store::write_version`, the same path as an `INSERT` into
//! `chronicle.state_store`.

use pgrx::prelude::*;
use pgrx::spi::SpiClient;
use serde_json::Value;

use crate::errors::{raise, raise_with_hint};
use crate::jsonb::{json_kind, Jsonb, JsonbDatum, JsonbRef};
use crate::settings;
use crate::state::store::{self, EntityKey, NewState, Origin};
use crate::state::trigger::require_state;

/// Writes a new version of an entity's state and returns its number, or the current
/// number when the state is unchanged. With `expected_version` it is a compare-and-set:
/// the write happens only if that is the current version (0: the entity has none).
#[pg_extern(security_definer)]
#[search_path(pg_catalog, pg_temp)]
fn put_state(
    entity_type: Option<&str>,
    entity_id: Option<&str>,
    state: Option<JsonbDatum>,
    expected_version: default!(Option<i32>, "NULL"),
    command_id: default!(Option<pgrx::Uuid>, "NULL"),
) -> i32 {
    let key = EntityKey::new(entity_type, entity_id);
    let state = require_state(&key, state);
    let value = state.parse();
    Spi::connect_mut(|client| {
        if let Some(expected) = expected_version {
            let current = store::lock_entity(client, &key).current_version();
            if current != expected {
                raise(
                    PgSqlErrorCode::ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
                    format!(
                        "version conflict on {key}: expected version {expected}, {}",
                        describe_current(current)
                    ),
                );
            }
        }
        write(
            client,
            &key,
            NewState {
                value: &value,
                datum: state.into(),
                created_by: None,
                command_id,
                origin: Origin::Local,
            },
        )
    })
}

/// Applies an RFC 7396 JSON merge patch to the current state (an empty object when the
/// entity has no current version) and writes the result. The entity stays locked from
/// read to write, so concurrent patches never lose each other's changes.
#[pg_extern(security_definer)]
#[search_path(pg_catalog, pg_temp)]
fn patch_state(
    entity_type: Option<&str>,
    entity_id: Option<&str>,
    patch: Option<Jsonb>,
    command_id: default!(Option<pgrx::Uuid>, "NULL"),
) -> i32 {
    let key = EntityKey::new(entity_type, entity_id);
    let patch = match patch {
        Some(Jsonb(patch @ Value::Object(_))) => patch,
        Some(Jsonb(other)) => raise(
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            format!(
                "patch must be a JSON object (an RFC 7396 merge patch), not {}",
                json_kind(&other)
            ),
        ),
        None => raise(
            PgSqlErrorCode::ERRCODE_NULL_VALUE_NOT_ALLOWED,
            "patch must not be NULL",
        ),
    };
    Spi::connect_mut(|client| {
        let entity = store::lock_entity(client, &key);
        let current = entity
            .is_live
            .then(|| store::current_state(client, &key))
            .flatten()
            .unwrap_or_else(|| Value::Object(Default::default()));
        let patched = chronicle_json::merge_patch(&current, &patch);
        write_value(client, &key, &patched, command_id)
    })
}

/// Makes an earlier version's state current again, as a new version (history is never
/// rewritten). Returns the resulting current version.
#[pg_extern(security_definer)]
#[search_path(pg_catalog, pg_temp)]
fn revert_state(
    entity_type: Option<&str>,
    entity_id: Option<&str>,
    to_version: Option<i32>,
    command_id: default!(Option<pgrx::Uuid>, "NULL"),
) -> i32 {
    let key = EntityKey::new(entity_type, entity_id);
    let Some(to_version) = to_version else {
        raise(
            PgSqlErrorCode::ERRCODE_NULL_VALUE_NOT_ALLOWED,
            "to_version must not be NULL",
        )
    };
    Spi::connect_mut(|client| {
        store::lock_entity(client, &key);
        let state = version_state(client, &key, to_version);
        write_value(client, &key, &state, command_id)
    })
}

/// Ends an entity's current version; its history stays, and a later write continues the
/// numbering. Returns false when the entity had no current version.
#[pg_extern(security_definer)]
#[search_path(pg_catalog, pg_temp)]
fn delete_state(entity_type: Option<&str>, entity_id: Option<&str>) -> bool {
    let key = EntityKey::new(entity_type, entity_id);
    Spi::connect_mut(|client| store::delete_current(client, &key).is_some())
}

/// The RFC 6902 JSON Patch that turns version `from_version` of an entity into
/// `to_version`. Runs as the caller, who needs to be able to read the history.
///
/// A patch repeats the path of every change, so two documents nested deep with many
/// leaves give a patch hundreds of times their size: it is refused (54000) before it
/// grows past [`settings::max_derived_bytes`].
#[pg_extern(stable, strict, parallel_safe)]
#[search_path(pg_catalog, pg_temp)]
fn state_diff(entity_type: &str, entity_id: &str, from_version: i32, to_version: i32) -> Jsonb {
    let key = EntityKey::new(Some(entity_type), Some(entity_id));
    Spi::connect_mut(|client| {
        let from = version_state(client, &key, from_version);
        let to = version_state(client, &key, to_version);
        let limit = settings::max_derived_bytes();
        Jsonb(chronicle_json::diff_bounded(&from, &to, limit).unwrap_or_else(|_| {
            raise_with_hint(
                PgSqlErrorCode::ERRCODE_PROGRAM_LIMIT_EXCEEDED,
                format!("the diff of {key} from version {from_version} to {to_version} would be over {limit} bytes"),
                "A diff may be at most twice chronicle.max_state_bytes; compare the versions' states instead.",
            )
        }))
    })
}

/// Writes a state and returns the entity's current version afterwards (the new one, or
/// the existing one when the state was unchanged).
fn write(client: &mut SpiClient<'_>, key: &EntityKey, state: NewState<'_>) -> i32 {
    match store::write_version(client, key, state) {
        Some(written) => written.version,
        // Unchanged: the claim left the head row locked, so this is still current.
        None => store::current_version(client, key).expect("an unchanged state is current"),
    }
}

fn write_value(
    client: &mut SpiClient<'_>,
    key: &EntityKey,
    value: &Value,
    command_id: Option<pgrx::Uuid>,
) -> i32 {
    let state = NewState {
        value,
        datum: JsonbRef(value).into(),
        created_by: None,
        command_id,
        origin: Origin::Local,
    };
    write(client, key, state)
}

/// The state of a version that must exist; the error names the versions there are.
fn version_state(client: &mut SpiClient<'_>, key: &EntityKey, version: i32) -> Value {
    store::state_at_version(client, key, version).unwrap_or_else(|| {
        let known = match store::last_version(client, key) {
            Some(last) if last > 0 => format!("its versions are 1 to {last}"),
            _ => "it has no versions".to_owned(),
        };
        raise(
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            format!("{key} has no version {version}: {known}"),
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
