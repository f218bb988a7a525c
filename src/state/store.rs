//! The statements behind the state store. Every writer of an entity serialises on its row
//! in `chronicle.state_entities`: `INSERT … ON CONFLICT DO UPDATE` and `SELECT … FOR
//! UPDATE` both wait for a concurrent writer and then act on the row it committed, so the
//! next version number and timestamp are computed from the latest committed head and never
//! from a stale snapshot or a scan of the history. A version row is then inserted once and
//! never touched again: its end is derived from the next version (see sql/state.sql).

use pgrx::datum::{DatumWithOid, TimestampWithTimeZone};
use pgrx::pg_sys;
use pgrx::prelude::*;
use pgrx::spi::SpiClient;
use pgrx::Uuid;
use serde_json::Value;

use crate::clock::clock_timestamp;
use crate::errors::{raise, raise_with_hint, require_name};
use crate::export::enqueue::{enqueue, FileChange};
use crate::export::targets::{target_of, GistTarget};
use crate::jsonb::Jsonb;
use crate::plan_cache::Statement;
use crate::settings;
use crate::state::schema;

const ENTITY: &[pg_sys::Oid] = &[pg_sys::TEXTOID, pg_sys::TEXTOID];

/// Which entity a write is for, validated.
pub struct EntityKey {
    pub entity_type: String,
    pub entity_id: String,
}

impl EntityKey {
    /// Rejects NULL, empty and over-long names with the error a user should see.
    pub fn new(entity_type: Option<&str>, entity_id: Option<&str>) -> Self {
        let key = EntityKey {
            entity_type: check_entity_type(entity_type),
            entity_id: require_name("entity_id", entity_id),
        };
        check_length("entity_id", &key.entity_id, 255);
        key
    }

    fn args(&self) -> [DatumWithOid<'_>; 2] {
        [
            self.entity_type.as_str().into(),
            self.entity_id.as_str().into(),
        ]
    }
}

/// An entity type's name, refused as [`EntityKey::new`] refuses it when NULL, empty or
/// longer than 100 characters.
pub fn check_entity_type(entity_type: Option<&str>) -> String {
    let entity_type = require_name("entity_type", entity_type);
    check_length("entity_type", &entity_type, 100);
    entity_type
}

impl std::fmt::Display for EntityKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.entity_type, self.entity_id)
    }
}

/// A state to write: its parsed value (for the checksum) and the `jsonb` datum to store.
pub struct NewState<'a> {
    pub value: &'a Value,
    pub datum: DatumWithOid<'a>,
    pub created_by: Option<Uuid>,
    pub command_id: Option<Uuid>,
    pub origin: Origin,
}

/// Where a write comes from.
#[derive(Clone, Copy)]
pub enum Origin {
    /// Written here now: timestamped by the clock, exported to the entity type's Gist.
    Local,
    /// A revision read from a Gist: keeps the revision's time, and is not exported back.
    GistImport { valid_from: TimestampWithTimeZone },
}

/// What a write stored.
pub struct Written {
    pub version: i32,
    pub valid_from: TimestampWithTimeZone,
    pub checksum: String,
    pub id: Uuid,
    pub schema_version: Option<i32>,
}

/// Writes a new version of an entity's state, or nothing when it equals the current
/// state (same canonical JSON); the single write path of every writer.
pub fn write_version(
    client: &mut SpiClient<'_>,
    key: &EntityKey,
    state: NewState<'_>,
) -> Option<Written> {
    let canonical = chronicle_json::canonical_bytes(state.value);
    check_size(key, canonical.len());
    let checked = schema::check_write(client, key, state.value);
    let checksum = chronicle_json::checksum_of_canonical(&canonical);
    let id = uuid_v7();
    let row = VersionRow {
        key,
        state: state.datum,
        checksum: &checksum,
        id,
        created_by: state.created_by.or_else(crate::identity::current_user_id),
        command_id: state.command_id,
        schema_version: checked.schema_version,
    };
    let stored = store_version(client, row, state.origin)?;
    let version = stored.version;
    schema::record_violations(client, key, version, &checked);
    if let (Origin::Local, Some(target)) = (state.origin, stored.target) {
        let change = FileChange::Write {
            version,
            checksum: &checksum,
            state: state.value,
        };
        enqueue(
            client,
            &target,
            &key.entity_type,
            &key.entity_id,
            change,
            stored.valid_from,
        );
    }
    Some(Written {
        version,
        valid_from: stored.valid_from,
        checksum,
        id,
        schema_version: checked.schema_version,
    })
}

/// What a version row holds besides its number and time, which the head claims.
struct VersionRow<'a> {
    key: &'a EntityKey,
    state: DatumWithOid<'a>,
    checksum: &'a str,
    id: Uuid,
    created_by: Option<Uuid>,
    command_id: Option<Uuid>,
    schema_version: Option<i32>,
}

/// A stored version's number and time, and where the entity type is exported to, if
/// anywhere.
struct Stored {
    version: i32,
    valid_from: TimestampWithTimeZone,
    target: Option<GistTarget>,
}

/// Claims the entity's next version number and inserts the version row, or returns `None`
/// (inserting nothing) when the row's state is already the current one. The entity type's
/// export target comes back with it.
///
/// On one server a write is one statement: an `UPDATE` of the head, the insert of the
/// version fed by what it returns, and the target, so it pays one executor start-up
/// (measured: a separate insert cost put_state about a tenth of its time). Only when the
/// head is missing (a new entity) or already holds the state does the update match
/// nothing; then the same statement runs with the head's upsert instead, which creates it
/// or, for an unchanged state, matches nothing again. An upsert on every write would also
/// probe for the conflict and lock the head before updating it, a WAL record more.
/// Either statement waits for a concurrent writer of the entity and then acts on the head
/// it committed (READ COMMITTED re-checks the row), so numbering stays gapless.
///
/// On Citus a data-modifying CTE feeding another table runs as distributed steps with
/// intermediate results (measured: 2.4 ms against 0.4 ms on a worker), so there the head
/// is upserted, the version inserted and the target read one statement at a time.
///
/// `valid_from` is the wall clock, but always at least a microsecond after the entity's
/// last change: versions written in one transaction, or by a transaction that started
/// before the last committed write, still get strictly increasing timestamps. An import
/// brings its own, already checked to be later than the last change.
///
/// The clock is read here and passed in, and the microsecond is added by an IMMUTABLE
/// function, because Citus runs an `ON CONFLICT DO UPDATE` on a distributed table only
/// when its `SET` calls nothing volatile or stable (docs/citus.md).
fn store_version(
    client: &mut SpiClient<'_>,
    row: VersionRow<'_>,
    origin: Origin,
) -> Option<Stored> {
    // The head's next state, for an entity that has one: $1, $2 the entity, $3 the new
    // checksum, $4 an import's time, $5 the clock.
    macro_rules! next_head {
        () => {
            "last_version = e.last_version + 1,
             last_change = coalesce($4, greatest($5, chronicle._microsecond_after(e.last_change))),
             current_checksum = $3"
        };
    }
    macro_rules! upsert_head {
        () => {
            concat!(
                "INSERT INTO chronicle.state_entities AS e
                        (entity_type, entity_id, last_version, last_change, current_checksum)
                 VALUES ($1, $2, 1, coalesce($4, $5), $3)
                 ON CONFLICT (entity_type, entity_id) DO UPDATE SET ",
                next_head!(),
                " WHERE e.current_checksum IS DISTINCT FROM $3
                 RETURNING last_version, last_change"
            )
        };
    }
    // The version row, given its number and time: $6 to $10 the rest of it.
    macro_rules! insert_version {
        ($values:expr) => {
            concat!(
                "INSERT INTO chronicle.state_versions
                        (entity_type, entity_id, version, state, valid_from, checksum, id,
                         created_by, command_id, schema_version) ",
                $values
            )
        };
    }
    // The whole write around a claim of the head.
    macro_rules! write_with {
        ($claim:expr) => {
            concat!(
                "WITH claimed AS (",
                $claim,
                "), stored AS (",
                insert_version!(
                    "SELECT $1, $2, c.last_version, $6, c.last_change, $3, $7, $8, $9, $10
                       FROM claimed c"
                ),
                ")
                 SELECT c.last_version, c.last_change, t.gist_id, t.filename_template, t.mode
                   FROM claimed c
                   LEFT JOIN chronicle.gist_targets t ON t.entity_type = $1 AND t.enabled"
            )
        };
    }
    // The parameters' types: the ten of a write, then the version's number and time, which
    // only the Citus path passes (it learns them from the head's upsert).
    const VERSION_PARAMS: &[pg_sys::Oid] = &[
        pg_sys::TEXTOID,
        pg_sys::TEXTOID,
        pg_sys::TEXTOID,
        pg_sys::TIMESTAMPTZOID,
        pg_sys::TIMESTAMPTZOID,
        pg_sys::JSONBOID,
        pg_sys::UUIDOID,
        pg_sys::UUIDOID,
        pg_sys::UUIDOID,
        pg_sys::INT4OID,
        pg_sys::INT4OID,
        pg_sys::TIMESTAMPTZOID,
    ];
    const WRITE_PARAMS: &[pg_sys::Oid] = VERSION_PARAMS.split_at(10).0;
    static WRITE_UPDATING: Statement = Statement {
        sql: write_with!(concat!(
            "UPDATE chronicle.state_entities AS e SET ",
            next_head!(),
            " WHERE e.entity_type = $1 AND e.entity_id = $2
                AND e.current_checksum IS DISTINCT FROM $3
             RETURNING last_version, last_change"
        )),
        params: WRITE_PARAMS,
    };
    static WRITE_UPSERTING: Statement = Statement {
        sql: write_with!(upsert_head!()),
        params: WRITE_PARAMS,
    };
    static UPSERT_HEAD: Statement = Statement {
        sql: upsert_head!(),
        params: WRITE_PARAMS.split_at(5).0,
    };
    // On Citus, one statement at a time: a write's parameters, and the number and time the
    // head's upsert returned as $11 and $12.
    static INSERT_VERSION: Statement = Statement {
        sql: insert_version!("VALUES ($1, $2, $11, $6, $12, $3, $7, $8, $9, $10)"),
        params: VERSION_PARAMS,
    };
    let valid_from = match origin {
        Origin::Local => None,
        Origin::GistImport { valid_from } => Some(valid_from),
    };
    let now = clock_timestamp();
    let key = row.key;
    let [entity_type, entity_id] = key.args();
    let args = [
        entity_type,
        entity_id,
        row.checksum.into(),
        valid_from.into(),
        now.into(),
        row.state,
        row.id.into(),
        row.created_by.into(),
        row.command_id.into(),
        row.schema_version.into(),
    ];
    if crate::scale_out::state_is_distributed(client) {
        let claimed = UPSERT_HEAD.run(client, &args[..5]);
        let (version, valid_from) = claimed
            .first()
            .get_two::<i32, TimestampWithTimeZone>()
            .ok()?;
        let (version, valid_from) = (version?, valid_from?);
        let mut version_args = Vec::from(args);
        version_args.extend([version.into(), valid_from.into()]);
        INSERT_VERSION.run(client, &version_args);
        return Some(Stored {
            version,
            valid_from,
            target: target_of(client, &key.entity_type),
        });
    }
    let mut rows = WRITE_UPDATING.run(client, &args);
    if rows.is_empty() {
        rows = WRITE_UPSERTING.run(client, &args);
    }
    let stored = rows.first();
    let version = stored.get::<i32>(1).ok()??;
    let valid_from = stored.get::<TimestampWithTimeZone>(2).ok()??;
    let target = match (
        stored.get::<String>(3),
        stored.get::<String>(4),
        stored.get::<String>(5),
    ) {
        (Ok(Some(gist_id)), Ok(Some(template)), Ok(Some(mode))) => {
            Some(GistTarget::new(gist_id, &template, mode))
        }
        _ => None,
    };
    Some(Stored {
        version,
        valid_from,
        target,
    })
}

/// `at` plus one microsecond: the least `valid_from` a write may take, a microsecond after
/// the entity's last change. Called by the head updates above and in [`delete_current`].
///
/// Not `at + interval '1 microsecond'` in a SQL function: that operator is STABLE (it reads
/// the time zone for steps of days and months), so a SQL function declaring it IMMUTABLE
/// is never inlined, and ran through the SQL-function executor, which parses and plans its
/// body again, on every write (a tenth of put_state's time in perf). This one is truly
/// IMMUTABLE, which Citus requires of what an `ON CONFLICT DO UPDATE` on a distributed
/// table calls (docs/citus.md). Infinities stay as they are, as with the operator.
#[pg_extern(sql = r#"
CREATE FUNCTION chronicle._microsecond_after(at timestamptz) RETURNS timestamptz
LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
AS '@MODULE_PATHNAME@', '@FUNCTION_NAME@';
COMMENT ON FUNCTION chronicle._microsecond_after(timestamptz) IS
  'Internal to the state store''s write path: the time a microsecond after the given one';
"#)]
fn microsecond_after(at: TimestampWithTimeZone) -> TimestampWithTimeZone {
    if !at.is_finite() {
        return at;
    }
    i64::from(at)
        .checked_add(1)
        .and_then(|micros| TimestampWithTimeZone::try_from(micros).ok())
        .unwrap_or_else(|| {
            raise(
                PgSqlErrorCode::ERRCODE_DATETIME_FIELD_OVERFLOW,
                "timestamp out of range",
            )
        })
}

/// An entity's head row, locked by this transaction.
pub struct LockedEntity {
    /// Highest version ever written, 0 for an entity being created.
    pub last_version: i32,
    /// Whether `last_version` is current (false once deleted).
    pub is_live: bool,
    /// The entity's last version or deletion time (-infinity for a new entity).
    pub last_change: TimestampWithTimeZone,
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

/// Locks an entity's head row, creating it (at version 0) if the entity was never
/// written, so that read-modify-write callers (compare-and-set, patch, revert) read the
/// state only after every earlier writer has committed.
pub fn lock_entity(client: &mut SpiClient<'_>, key: &EntityKey) -> LockedEntity {
    static CREATE: Statement = Statement {
        sql: "INSERT INTO chronicle.state_entities
                     (entity_type, entity_id, last_version, last_change, current_checksum)
              VALUES ($1, $2, 0, '-infinity', NULL)
              ON CONFLICT (entity_type, entity_id) DO NOTHING",
        params: ENTITY,
    };
    static LOCK: Statement = Statement {
        sql: "SELECT last_version, current_checksum IS NOT NULL, last_change
                FROM chronicle.state_entities
               WHERE entity_type = $1 AND entity_id = $2
                 FOR UPDATE",
        params: ENTITY,
    };
    CREATE.run(client, &key.args());
    let row = LOCK.run(client, &key.args());
    let (last_version, is_live, last_change) = row
        .first()
        .get_three::<i32, bool, TimestampWithTimeZone>()
        .expect("the entity row was just created or found");
    LockedEntity {
        last_version: last_version.expect("last_version is NOT NULL"),
        is_live: is_live.expect("IS NOT NULL is never NULL"),
        last_change: last_change.expect("last_change is NOT NULL"),
    }
}

/// Ends an entity's current version without writing a new one. Returns the version that
/// was ended, or `None` when the entity had no current version.
pub fn delete_current(client: &mut SpiClient<'_>, key: &EntityKey) -> Option<i32> {
    static DELETE: Statement = Statement {
        sql: "UPDATE chronicle.state_entities
                 SET last_change = greatest($3, chronicle._microsecond_after(last_change)),
                     current_checksum = NULL
               WHERE entity_type = $1 AND entity_id = $2 AND current_checksum IS NOT NULL
              RETURNING last_version, last_change",
        params: &[pg_sys::TEXTOID, pg_sys::TEXTOID, pg_sys::TIMESTAMPTZOID],
    };
    static RECORD: Statement = Statement {
        sql: "INSERT INTO chronicle.state_deletions (entity_type, entity_id, version, deleted_at)
              VALUES ($1, $2, $3, $4)",
        params: &[
            pg_sys::TEXTOID,
            pg_sys::TEXTOID,
            pg_sys::INT4OID,
            pg_sys::TIMESTAMPTZOID,
        ],
    };
    let [entity_type, entity_id] = key.args();
    let row = DELETE.run(client, &[entity_type, entity_id, clock_timestamp().into()]);
    let (version, deleted_at) = row.first().get_two::<i32, TimestampWithTimeZone>().ok()?;
    let (version, deleted_at) = (version?, deleted_at?);
    let [entity_type, entity_id] = key.args();
    RECORD.run(
        client,
        &[entity_type, entity_id, version.into(), deleted_at.into()],
    );
    if let Some(target) = target_of(client, &key.entity_type) {
        enqueue(
            client,
            &target,
            &key.entity_type,
            &key.entity_id,
            FileChange::Remove { version },
            deleted_at,
        );
    }
    Some(version)
}

/// The current version number of an entity, if it has one.
pub fn current_version(client: &mut SpiClient<'_>, key: &EntityKey) -> Option<i32> {
    static CURRENT: Statement = Statement {
        sql: "SELECT last_version FROM chronicle.state_entities
               WHERE entity_type = $1 AND entity_id = $2 AND current_checksum IS NOT NULL",
        params: ENTITY,
    };
    CURRENT
        .run(client, &key.args())
        .first()
        .get_one::<i32>()
        .ok()
        .flatten()
}

/// The highest version number ever written for an entity (0 or `None`: never written).
pub fn last_version(client: &mut SpiClient<'_>, key: &EntityKey) -> Option<i32> {
    static LAST: Statement = Statement {
        sql: "SELECT last_version FROM chronicle.state_entities
               WHERE entity_type = $1 AND entity_id = $2",
        params: ENTITY,
    };
    LAST.run(client, &key.args())
        .first()
        .get_one::<i32>()
        .ok()
        .flatten()
}

/// The state of one version of an entity, if that version exists.
pub fn state_at_version(
    client: &mut SpiClient<'_>,
    key: &EntityKey,
    version: i32,
) -> Option<Value> {
    static AT_VERSION: Statement = Statement {
        sql: "SELECT state FROM chronicle.state_versions
               WHERE entity_type = $1 AND entity_id = $2 AND version = $3",
        params: &[pg_sys::TEXTOID, pg_sys::TEXTOID, pg_sys::INT4OID],
    };
    let [entity_type, entity_id] = key.args();
    AT_VERSION
        .run(client, &[entity_type, entity_id, version.into()])
        .first()
        .get_one::<Jsonb>()
        .ok()
        .flatten()
        .map(|state| state.0)
}

/// The current state of an entity, if it has one.
pub fn current_state(client: &mut SpiClient<'_>, key: &EntityKey) -> Option<Value> {
    static CURRENT_STATE: Statement = Statement {
        sql: "SELECT state FROM chronicle.current_state WHERE entity_type = $1 AND entity_id = $2",
        params: ENTITY,
    };
    CURRENT_STATE
        .run(client, &key.args())
        .first()
        .get_one::<Jsonb>()
        .ok()
        .flatten()
        .map(|state| state.0)
}

/// A time-ordered UUID (RFC 9562 version 7): new versions land at the right edge of the
/// `id` index instead of on a random page.
///
/// The 74 random bits come from the backend's PRNG (xoshiro128**, seeded from the
/// operating system's strong random source when the backend starts), not from
/// `pg_strong_random`: a version's id identifies it and guards nothing, and OpenSSL's
/// generator cost a twentieth of a put_state (perf).
fn uuid_v7() -> Uuid {
    // SAFETY: the backend-global PRNG state, used from the backend's only thread.
    let (high, low) = unsafe {
        let state = &raw mut pg_sys::pg_global_prng_state;
        (pg_sys::pg_prng_uint64(state), pg_sys::pg_prng_uint64(state))
    };
    let mut bytes = [0u8; 16];
    bytes[8..].copy_from_slice(&high.to_be_bytes());
    bytes[6..8].copy_from_slice(&low.to_be_bytes()[..2]);
    let millis = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_millis() as u64);
    bytes[..6].copy_from_slice(&millis.to_be_bytes()[2..]);
    bytes[6] = 0x70 | (bytes[6] & 0x0f);
    bytes[8] = 0x80 | (bytes[8] & 0x3f);
    Uuid::from_bytes(bytes)
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

fn check_size(key: &EntityKey, bytes: usize) {
    let limit = settings::max_state_bytes();
    if bytes > limit {
        raise_with_hint(
            PgSqlErrorCode::ERRCODE_PROGRAM_LIMIT_EXCEEDED,
            format!("state of {key} is {bytes} bytes of JSON, over the limit of {limit} bytes"),
            "The limit is the chronicle.max_state_bytes setting (10MB by default, the size of a Gist file).",
        );
    }
}
