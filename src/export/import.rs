//! `import_state_version`: loading a Gist's revision history into the state store. It is
//! the only way to write a version with a timestamp from the past, and it keeps the
//! versioning guarantees: the revision must be later than the entity's last change.

use pgrx::datum::TimestampWithTimeZone;
use pgrx::pg_sys;
use pgrx::prelude::*;

use crate::errors::{raise, require_name};
use crate::jsonb::JsonbDatum;
use crate::plan_cache::Statement;
use crate::state::store::{self, EntityKey, NewState, Origin};
use crate::state::trigger::require_state;

/// Appends one Gist file revision as a version of an entity, with the revision's commit
/// time as `valid_from`, and remembers it: returns the version it became (the current
/// one if the state was unchanged), or NULL when this (gist, revision, file) was already
/// imported. Imported versions are not exported back to the Gist they came from.
#[pg_extern(security_definer)]
#[search_path(pg_catalog, pg_temp)]
#[allow(clippy::too_many_arguments)]
fn import_state_version(
    entity_type: Option<&str>,
    entity_id: Option<&str>,
    state: Option<JsonbDatum>,
    valid_from: Option<TimestampWithTimeZone>,
    gist_id: Option<&str>,
    gist_revision: Option<&str>,
    file_name: Option<&str>,
) -> Option<i32> {
    let key = EntityKey::new(entity_type, entity_id);
    let state = require_state(&key, state);
    let Some(valid_from) = valid_from else {
        raise(
            PgSqlErrorCode::ERRCODE_NULL_VALUE_NOT_ALLOWED,
            "valid_from must not be NULL",
        )
    };
    if !valid_from.is_finite() || valid_from > crate::clock::clock_timestamp() {
        raise(
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            format!("valid_from must be a finite time in the past, not {valid_from}"),
        );
    }
    let gist_id = require_name("gist_id", gist_id);
    let gist_revision = require_name("gist_revision", gist_revision);
    let file_name = require_name("file_name", file_name);
    let value = state.parse();
    static ALREADY_IMPORTED: Statement = Statement {
        sql: "SELECT true FROM chronicle.gist_imports
               WHERE gist_id = $1 AND gist_revision = $2 AND file_name = $3",
        params: &[pg_sys::TEXTOID, pg_sys::TEXTOID, pg_sys::TEXTOID],
    };
    static RECORD: Statement = Statement {
        sql: "INSERT INTO chronicle.gist_imports (gist_id, gist_revision, file_name, entity_type, entity_id, version)
              VALUES ($1, $2, $3, $4, $5, $6)",
        params: &[pg_sys::TEXTOID, pg_sys::TEXTOID, pg_sys::TEXTOID, pg_sys::TEXTOID, pg_sys::TEXTOID, pg_sys::INT4OID],
    };
    Spi::connect_mut(|client| {
        let origin = [
            gist_id.as_str().into(),
            gist_revision.as_str().into(),
            file_name.as_str().into(),
        ];
        // Checked under the entity's lock, so two importers of one Gist cannot both
        // import a revision.
        let entity = store::lock_entity(client, &key);
        if !ALREADY_IMPORTED.run(client, &origin).is_empty() {
            return None;
        }
        if valid_from <= entity.last_change {
            raise(
                PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
                format!(
                    "cannot import {gist_id}@{gist_revision}:{file_name} into {key} at {valid_from}: \
                     the entity's last change is at {}, and versions must be strictly later",
                    entity.last_change
                ),
            );
        }
        let new_state = NewState {
            value: &value,
            datum: state.into(),
            created_by: None,
            command_id: None,
            origin: Origin::GistImport { valid_from },
        };
        let version = match store::write_version(client, &key, new_state) {
            Some(written) => written.version,
            None => entity.current_version(),
        };
        let [gist_id, gist_revision, file_name] = origin;
        RECORD.run(
            client,
            &[
                gist_id,
                gist_revision,
                file_name,
                key.entity_type.as_str().into(),
                key.entity_id.as_str().into(),
                version.into(),
            ],
        );
        Some(version)
    })
}
