//! The triggers that make `chronicle.state_store` a versioned, append-only history for
//! every writer: the API functions below and a plain `INSERT` go through the same code.

use pgrx::datum::{TimestampWithTimeZone, TryFromDatumError};
use pgrx::prelude::*;
use pgrx::WhoAllocated;

use crate::errors::{raise, raise_with_hint, require_name};
use crate::jsonb::Jsonb;
use crate::settings;
use crate::state::store;

/// BEFORE INSERT, for each row: validates the row, skips it when the state equals the
/// current one, and otherwise numbers it, timestamps it and closes the previous version.
/// `version`, `valid_from`, `valid_to` and `checksum` are always assigned here; values a
/// writer supplies for them are replaced.
///
/// SECURITY DEFINER so that roles allowed to insert states need no rights on the internal
/// head table; the search_path is pinned because it is.
#[pg_trigger(sql = r#"
CREATE FUNCTION chronicle.state_store_version() RETURNS trigger
LANGUAGE c SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', '@FUNCTION_NAME@';
COMMENT ON FUNCTION chronicle.state_store_version() IS
  'Trigger: numbers, timestamps and checksums each new chronicle.state_store row and closes the previous version; skips unchanged states';
"#)]
fn state_store_version<'a>(
    trigger: &'a PgTrigger<'a>,
) -> Result<Option<PgHeapTuple<'a, impl WhoAllocated>>, TryFromDatumError> {
    let mut row = trigger.new().expect("a BEFORE INSERT row trigger has NEW").into_owned();
    let entity_type = require_name("entity_type", row.get_by_name::<String>("entity_type")?.as_deref());
    let entity_id = require_name("entity_id", row.get_by_name::<String>("entity_id")?.as_deref());
    check_length("entity_type", &entity_type, 100);
    check_length("entity_id", &entity_id, 255);
    let Some(Jsonb(state)) = row.get_by_name::<Jsonb>("state")? else {
        raise_with_hint(
            PgSqlErrorCode::ERRCODE_NULL_VALUE_NOT_ALLOWED,
            format!("state of {entity_type}/{entity_id} must not be NULL"),
            "To remove an entity, call chronicle.delete_state(entity_type, entity_id).",
        )
    };
    let canonical = chronicle_json::canonical_bytes(&state);
    check_size(&entity_type, &entity_id, canonical.len());
    let checksum = chronicle_json::checksum_of_canonical(&canonical);

    let claimed = Spi::connect_mut(|client| {
        store::claim_next_version(client, &entity_type, &entity_id, &checksum)
    });
    let Some(version) = claimed else {
        return Ok(None);
    };
    row.set_by_name("version", version.number)?;
    row.set_by_name("valid_from", version.valid_from)?;
    row.set_by_name("valid_to", None::<TimestampWithTimeZone>)?;
    row.set_by_name("checksum", checksum)?;
    Ok(Some(row))
}

/// BEFORE UPDATE OR DELETE (per row) and BEFORE TRUNCATE: history is immutable. The only
/// change let through is the versioning code closing the current version.
#[pg_trigger(sql = r#"
CREATE FUNCTION chronicle.state_store_append_only() RETURNS trigger
LANGUAGE c
AS 'MODULE_PATHNAME', '@FUNCTION_NAME@';
COMMENT ON FUNCTION chronicle.state_store_append_only() IS
  'Trigger: rejects UPDATE, DELETE and TRUNCATE of chronicle.state_store, whose history is immutable';
"#)]
fn state_store_append_only<'a>(
    trigger: &'a PgTrigger<'a>,
) -> Result<Option<PgHeapTuple<'a, impl WhoAllocated>>, TryFromDatumError> {
    if trigger.event().fired_by_update() && store::is_closing_version() {
        return Ok(trigger.new());
    }
    raise_with_hint(
        PgSqlErrorCode::ERRCODE_INTEGRITY_CONSTRAINT_VIOLATION,
        "chronicle.state_store is append-only: its history cannot be updated, deleted or truncated",
        "Write a new version with chronicle.put_state, chronicle.patch_state or chronicle.revert_state, \
         or end an entity with chronicle.delete_state.",
    )
}

fn check_length(what: &str, value: &str, max_chars: usize) {
    let chars = value.chars().count();
    if chars > max_chars {
        raise(
            PgSqlErrorCode::ERRCODE_STRING_DATA_RIGHT_TRUNCATION,
            format!("{what} is {chars} characters long, more than the {max_chars} allowed"),
        );
    }
}

fn check_size(entity_type: &str, entity_id: &str, bytes: usize) {
    let limit = settings::max_state_bytes();
    if bytes > limit {
        raise_with_hint(
            PgSqlErrorCode::ERRCODE_PROGRAM_LIMIT_EXCEEDED,
            format!(
                "state of {entity_type}/{entity_id} is {bytes} bytes of JSON, over the limit of {limit} bytes"
            ),
            "The limit is the chronicle.max_state_bytes setting (10MB by default, the size of a Gist file).",
        );
    }
}
