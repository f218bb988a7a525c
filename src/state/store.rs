//! The statements behind the state store. Every writer of an entity serialises on its row
//! in `chronicle.state_entities`: `INSERT … ON CONFLICT DO UPDATE` and `SELECT … FOR
//! UPDATE` both wait for a concurrent writer and then act on the row it committed, so the
//! next version number and timestamp are computed from the latest committed head and never
//! from a stale snapshot or a scan of the history.

use std::cell::Cell;

use pgrx::datum::{DatumWithOid, TimestampWithTimeZone};
use pgrx::pg_sys;
use pgrx::spi::SpiClient;
use serde_json::Value;

use crate::jsonb::Jsonb;
use crate::plan_cache::Statement;

const ENTITY: &[pg_sys::Oid] = &[pg_sys::TEXTOID, pg_sys::TEXTOID];

/// The version a write created.
pub struct NewVersion {
    pub number: i32,
    pub valid_from: TimestampWithTimeZone,
}

/// An entity's head row, locked by this transaction.
pub struct LockedEntity {
    /// Highest version ever written, 0 for an entity being created.
    pub last_version: i32,
    /// Whether `last_version` is current (false once deleted).
    pub is_live: bool,
}

impl LockedEntity {
    /// The version `put_state`'s `expected_version` is compared with: 0 when the entity
    /// has no current version.
    pub fn current_version(&self) -> i32 {
        if self.is_live {
            self.last_version
        } else {
            0
        }
    }
}

/// Claims the next version of an entity for a state with `checksum`, or returns `None` when
/// that state is already the current one (an unchanged state writes no new version). On
/// `Some`, the previous current version, if any, has been closed at the new `valid_from`.
///
/// `valid_from` is the wall clock, but always at least a microsecond after the entity's
/// last change: versions written in one transaction, or by a transaction that started
/// before the last committed write, still get strictly increasing timestamps.
pub fn claim_next_version(
    client: &mut SpiClient<'_>,
    entity_type: &str,
    entity_id: &str,
    checksum: &str,
) -> Option<NewVersion> {
    static CLAIM: Statement = Statement {
        sql: "INSERT INTO chronicle.state_entities AS e
                     (entity_type, entity_id, last_version, last_change, current_checksum)
              VALUES ($1, $2, 1, clock_timestamp(), $3)
              ON CONFLICT (entity_type, entity_id) DO UPDATE
                 SET last_version = e.last_version + 1,
                     last_change = greatest(clock_timestamp(), e.last_change + interval '1 microsecond'),
                     current_checksum = excluded.current_checksum
               WHERE e.current_checksum IS DISTINCT FROM excluded.current_checksum
              RETURNING last_version, last_change",
        params: &[pg_sys::TEXTOID, pg_sys::TEXTOID, pg_sys::TEXTOID],
    };
    let row = CLAIM.run(client, &[entity_type.into(), entity_id.into(), checksum.into()]);
    let (number, valid_from) = row.first().get_two::<i32, TimestampWithTimeZone>().ok()?;
    let new = NewVersion { number: number?, valid_from: valid_from? };
    close_current_version(client, entity_type, entity_id, new.valid_from);
    Some(new)
}

/// Locks an entity's head row, creating it (at version 0) if the entity was never
/// written, so that read-modify-write callers (compare-and-set, patch, revert, delete)
/// read the state only after every earlier writer has committed.
pub fn lock_entity(client: &mut SpiClient<'_>, entity_type: &str, entity_id: &str) -> LockedEntity {
    static CREATE: Statement = Statement {
        sql: "INSERT INTO chronicle.state_entities
                     (entity_type, entity_id, last_version, last_change, current_checksum)
              VALUES ($1, $2, 0, '-infinity', NULL)
              ON CONFLICT (entity_type, entity_id) DO NOTHING",
        params: ENTITY,
    };
    static LOCK: Statement = Statement {
        sql: "SELECT last_version, current_checksum IS NOT NULL
                FROM chronicle.state_entities
               WHERE entity_type = $1 AND entity_id = $2
                 FOR UPDATE",
        params: ENTITY,
    };
    CREATE.run(client, &[entity_type.into(), entity_id.into()]);
    let row = LOCK.run(client, &[entity_type.into(), entity_id.into()]);
    let (last_version, is_live) = row
        .first()
        .get_two::<i32, bool>()
        .expect("the entity row was just created or found");
    LockedEntity {
        last_version: last_version.expect("last_version is NOT NULL"),
        is_live: is_live.expect("IS NOT NULL is never NULL"),
    }
}

/// Inserts a state through the versioning trigger, exactly as a direct `INSERT` does.
/// Returns the new version, or `None` when the state was unchanged.
pub fn insert_version(
    client: &mut SpiClient<'_>,
    entity_type: &str,
    entity_id: &str,
    state: DatumWithOid<'_>,
    command_id: Option<pgrx::Uuid>,
) -> Option<i32> {
    static INSERT: Statement = Statement {
        sql: "INSERT INTO chronicle.state_store (entity_type, entity_id, state, command_id)
              VALUES ($1, $2, $3, $4)
              RETURNING version",
        params: &[pg_sys::TEXTOID, pg_sys::TEXTOID, pg_sys::JSONBOID, pg_sys::UUIDOID],
    };
    let rows = INSERT.run(client, &[entity_type.into(), entity_id.into(), state, command_id.into()]);
    if rows.is_empty() {
        return None;
    }
    rows.first().get_one::<i32>().ok().flatten()
}

/// Writes `state` unless it equals the current state; returns the entity's current
/// version afterwards either way.
pub fn write_state(
    client: &mut SpiClient<'_>,
    entity_type: &str,
    entity_id: &str,
    state: DatumWithOid<'_>,
    command_id: Option<pgrx::Uuid>,
) -> i32 {
    insert_version(client, entity_type, entity_id, state, command_id).unwrap_or_else(|| {
        // Unchanged: the trigger left the head row locked, so this is still current.
        current_version(client, entity_type, entity_id).expect("an unchanged state is current")
    })
}

/// The current version number of an entity, if it has one.
pub fn current_version(client: &mut SpiClient<'_>, entity_type: &str, entity_id: &str) -> Option<i32> {
    static CURRENT: Statement = Statement {
        sql: "SELECT last_version FROM chronicle.state_entities
               WHERE entity_type = $1 AND entity_id = $2 AND current_checksum IS NOT NULL",
        params: ENTITY,
    };
    CURRENT
        .run(client, &[entity_type.into(), entity_id.into()])
        .first()
        .get_one::<i32>()
        .ok()
        .flatten()
}

/// The highest version number ever written for an entity (0 or `None`: never written).
pub fn last_version(client: &mut SpiClient<'_>, entity_type: &str, entity_id: &str) -> Option<i32> {
    static LAST: Statement = Statement {
        sql: "SELECT last_version FROM chronicle.state_entities
               WHERE entity_type = $1 AND entity_id = $2",
        params: ENTITY,
    };
    LAST.run(client, &[entity_type.into(), entity_id.into()]).first().get_one::<i32>().ok().flatten()
}

/// The state of one version of an entity, if that version exists.
pub fn state_at_version(
    client: &mut SpiClient<'_>,
    entity_type: &str,
    entity_id: &str,
    version: i32,
) -> Option<Value> {
    static AT_VERSION: Statement = Statement {
        sql: "SELECT state FROM chronicle.state_store
               WHERE entity_type = $1 AND entity_id = $2 AND version = $3",
        params: &[pg_sys::TEXTOID, pg_sys::TEXTOID, pg_sys::INT4OID],
    };
    AT_VERSION
        .run(client, &[entity_type.into(), entity_id.into(), version.into()])
        .first()
        .get_one::<Jsonb>()
        .ok()
        .flatten()
        .map(|state| state.0)
}

/// The current state of an entity, if it has one.
pub fn current_state(client: &mut SpiClient<'_>, entity_type: &str, entity_id: &str) -> Option<Value> {
    static CURRENT_STATE: Statement = Statement {
        sql: "SELECT state FROM chronicle.state_store
               WHERE entity_type = $1 AND entity_id = $2 AND valid_to IS NULL",
        params: ENTITY,
    };
    CURRENT_STATE
        .run(client, &[entity_type.into(), entity_id.into()])
        .first()
        .get_one::<Jsonb>()
        .ok()
        .flatten()
        .map(|state| state.0)
}

/// Ends the current version of an entity without writing a new one. Returns the version
/// that was closed, or `None` when the entity had no current version.
pub fn delete_current(client: &mut SpiClient<'_>, entity_type: &str, entity_id: &str) -> Option<i32> {
    static DELETE: Statement = Statement {
        sql: "UPDATE chronicle.state_entities
                 SET last_change = greatest(clock_timestamp(), last_change + interval '1 microsecond'),
                     current_checksum = NULL
               WHERE entity_type = $1 AND entity_id = $2 AND current_checksum IS NOT NULL
              RETURNING last_version, last_change",
        params: ENTITY,
    };
    let row = DELETE.run(client, &[entity_type.into(), entity_id.into()]);
    let (version, deleted_at) = row.first().get_two::<i32, TimestampWithTimeZone>().ok()?;
    close_current_version(client, entity_type, entity_id, deleted_at?);
    version
}

thread_local! {
    static CLOSING_VERSION: Cell<bool> = const { Cell::new(false) };
}

/// Whether the statement now running is this module closing a version, the one change to
/// an existing `state_store` row the append-only guard lets through.
pub fn is_closing_version() -> bool {
    CLOSING_VERSION.with(Cell::get)
}

fn close_current_version(
    client: &mut SpiClient<'_>,
    entity_type: &str,
    entity_id: &str,
    valid_to: TimestampWithTimeZone,
) {
    static CLOSE: Statement = Statement {
        sql: "UPDATE chronicle.state_store SET valid_to = $3
               WHERE entity_type = $1 AND entity_id = $2 AND valid_to IS NULL",
        params: &[pg_sys::TEXTOID, pg_sys::TEXTOID, pg_sys::TIMESTAMPTZOID],
    };
    // Reset on drop, so an error raised inside the UPDATE (it unwinds through here) cannot
    // leave the guard open for the rest of the session.
    struct Closing;
    impl Drop for Closing {
        fn drop(&mut self) {
            CLOSING_VERSION.with(|flag| flag.set(false));
        }
    }
    CLOSING_VERSION.with(|flag| flag.set(true));
    let _closing = Closing;
    CLOSE.run(client, &[entity_type.into(), entity_id.into(), valid_to.into()]);
}
