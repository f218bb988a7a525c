//! The triggers that make `chronicle.state_store` a versioned, append-only history for
//! every writer: an `INSERT` into the view goes through the same write path as the API
//! functions, and nothing can change or remove a version once written.

use pgrx::datum::{TimestampWithTimeZone, TryFromDatumError};
use pgrx::prelude::*;
use pgrx::{AllocatedByRust, Uuid, WhoAllocated};

use crate::errors::raise_with_hint;
use crate::jsonb::JsonbDatum;
use crate::state::store::{self, EntityKey, NewState, Origin};

/// INSTEAD OF INSERT on the `state_store` view, for each row: writes the row as a new
/// version (or skips it when the state is unchanged, so `INSERT 0 0`) and returns it as
/// stored, for `RETURNING`. `version`, `valid_from`, `valid_to`, `checksum` and `id` are
/// always assigned here; values a writer supplies for them are replaced.
///
/// SECURITY DEFINER so that roles allowed to insert states need no rights on the storage
/// tables; the search_path is pinned because it is.
#[pg_trigger(sql = r#"
CREATE FUNCTION chronicle.state_store_insert() RETURNS trigger
LANGUAGE c SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS '@MODULE_PATHNAME@', '@FUNCTION_NAME@';
COMMENT ON FUNCTION chronicle.state_store_insert() IS
  'Trigger: writes each row inserted into chronicle.state_store as a new version (numbered, timestamped, checksummed); skips unchanged states';
"#)]
fn state_store_insert<'a>(
    trigger: &'a PgTrigger<'a>,
) -> Result<Option<PgHeapTuple<'a, impl WhoAllocated>>, TryFromDatumError> {
    let mut row = trigger
        .new()
        .expect("an INSTEAD OF INSERT row trigger has NEW")
        .into_owned();
    let key = EntityKey::new(
        row.get_by_name::<String>("entity_type")?.as_deref(),
        row.get_by_name::<String>("entity_id")?.as_deref(),
    );
    let state = require_state(&key, row.get_by_name::<JsonbDatum>("state")?);
    let value = state.parse();
    let new_state = NewState {
        value: &value,
        datum: state.into(),
        created_by: row.get_by_name::<Uuid>("created_by")?,
        command_id: row.get_by_name::<Uuid>("command_id")?,
        origin: Origin::Local,
    };
    let Some(written) = Spi::connect_mut(|client| store::write_version(client, &key, new_state))
    else {
        return Ok(None);
    };
    row.set_by_name("id", written.id)?;
    row.set_by_name("version", written.version)?;
    row.set_by_name("valid_from", written.valid_from)?;
    row.set_by_name("valid_to", None::<TimestampWithTimeZone>)?;
    row.set_by_name("checksum", written.checksum)?;
    row.set_by_name("schema_version", written.schema_version)?;
    Ok(Some(row))
}

/// Guards the history: BEFORE UPDATE and DELETE (per row) and TRUNCATE on the storage
/// tables, and INSTEAD OF UPDATE and DELETE on the `state_store` view. Nothing that was
/// written can change.
#[pg_trigger(sql = r#"
CREATE FUNCTION chronicle.state_history_guard() RETURNS trigger
LANGUAGE c
AS '@MODULE_PATHNAME@', '@FUNCTION_NAME@';
COMMENT ON FUNCTION chronicle.state_history_guard() IS
  'Trigger: rejects UPDATE, DELETE and TRUNCATE of the state history';
"#)]
fn state_history_guard<'a>(
    _trigger: &'a PgTrigger<'a>,
) -> Result<Option<PgHeapTuple<'a, AllocatedByRust>>, TryFromDatumError> {
    raise_with_hint(
        PgSqlErrorCode::ERRCODE_INTEGRITY_CONSTRAINT_VIOLATION,
        "chronicle.state_store is append-only: its history cannot be updated, deleted or truncated",
        "Write a new version with chronicle.put_state, chronicle.patch_state, chronicle.revert_state \
         or INSERT INTO chronicle.state_store, or end an entity with chronicle.delete_state.",
    )
}

/// A state must be given: deleting is `delete_state`, not writing NULL.
pub fn require_state(key: &EntityKey, state: Option<JsonbDatum>) -> JsonbDatum {
    state.unwrap_or_else(|| {
        raise_with_hint(
            PgSqlErrorCode::ERRCODE_NULL_VALUE_NOT_ALLOWED,
            format!("state of {key} must not be NULL"),
            "To remove an entity, call chronicle.delete_state(entity_type, entity_id).",
        )
    })
}
