//! State schemas: a JSON Schema per entity type, checked on the single write path
//! (`store::write_version`), so `put_state`, `patch_state`, `revert_state`, an `INSERT`
//! into `chronicle.state_store` and a Gist import all get the same check.
//!
//! - **Which schema a write is checked against.** Every write takes `ROW EXCLUSIVE` on
//!   `chronicle.state_schemas` (a fast-path lock, as any `INSERT` takes) before looking its
//!   type's schema up; `set_state_schema` and `drop_state_schema` take `SHARE ROW
//!   EXCLUSIVE`, which conflicts with it. A schema change therefore waits for the writes in
//!   flight to commit, and a write that starts during the change waits for it and is
//!   checked against the new schema: the schema a version records is the one in force when
//!   it commits. The lookup reads the table with the latest snapshot, as PostgreSQL reads
//!   its catalogs, so this holds at REPEATABLE READ too.
//! - **What a write pays.** Compiled schemas (and the absence of one) are cached per
//!   backend by entity type. A change sends a relcache invalidation for the table (the
//!   table's trigger does, on every node of a Citus cluster), which every backend
//!   receives when it next takes the lock above; the cache is then dropped.
//! - **Bounds** are those of the `state-schema` crate: offline, linear-time patterns,
//!   bounded schemas, and validation on a stack of its own.

use std::cell::RefCell;
use std::collections::HashMap;
use std::ffi::CStr;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};

use pgrx::pg_sys;
use pgrx::prelude::*;
use pgrx::spi::SpiClient;
use serde_json::{json, Value};
use state_schema::{CompiledSchema, SchemaError, Violation};

use crate::errors::{raise, raise_with_detail, raise_with_hint};
use crate::jsonb::{Jsonb, JsonbRef};
use crate::plan_cache::Statement;
use crate::state::store::{check_entity_type, EntityKey};

/// Violations named in a refused write's message; the DETAIL lists up to [`LISTED`].
const NAMED: usize = 3;
/// Violations kept per write (DETAIL, the warn-mode record, `validate_states`).
const LISTED: usize = 20;
/// Entity types whose schema (or lack of one) a backend keeps compiled.
const CACHED_TYPES: usize = 1024;

/// What happens to a write that does not validate.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Mode {
    Enforce,
    Warn,
}

impl Mode {
    fn parse(mode: Option<&str>) -> Mode {
        match mode {
            Some("enforce") => Mode::Enforce,
            Some("warn") => Mode::Warn,
            None => raise(PgSqlErrorCode::ERRCODE_NULL_VALUE_NOT_ALLOWED, "mode must not be NULL"),
            Some(other) => raise_with_hint(
                PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
                format!("unknown schema mode {}", quoted(other)),
                "The mode is 'enforce' (refuse writes that do not validate) or 'warn' (write them and record the violations).",
            ),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Mode::Enforce => "enforce",
            Mode::Warn => "warn",
        }
    }
}

/// The schema in force for an entity type.
pub struct ActiveSchema {
    pub version: i32,
    pub mode: Mode,
    compiled: CompiledSchema,
}

/// The outcome of checking a state about to be written.
pub struct Checked {
    /// The schema version it was checked against, to store with the version.
    pub schema_version: Option<i32>,
    /// In warn mode, what was wrong (to record once the version has its number).
    pub violations: Vec<Violation>,
}

/// Checks `state` against the schema in force for its entity type. A state that does not
/// validate under an `enforce` schema is refused here (23514), before anything is written.
pub fn check_write(client: &mut SpiClient<'_>, key: &EntityKey, state: &Value) -> Checked {
    let table = schema_table();
    let Some(schema) = schema_for_write(client, table, &key.entity_type) else {
        return Checked {
            schema_version: None,
            violations: Vec::new(),
        };
    };
    let valid = schema
        .compiled
        .is_valid(state)
        .unwrap_or_else(|too_complex| {
            raise(
                PgSqlErrorCode::ERRCODE_STATEMENT_TOO_COMPLEX,
                format!("cannot validate the state of {key}: {too_complex}"),
            )
        });
    if valid {
        return Checked {
            schema_version: Some(schema.version),
            violations: Vec::new(),
        };
    }
    let violations = schema
        .compiled
        .violations(state, LISTED)
        .unwrap_or_default();
    if schema.mode == Mode::Enforce {
        refuse(key, &schema, &violations);
    }
    Checked {
        schema_version: Some(schema.version),
        violations,
    }
}

/// Records the violations of a version written under a warn-mode schema.
pub fn record_violations(
    client: &mut SpiClient<'_>,
    key: &EntityKey,
    version: i32,
    checked: &Checked,
) {
    let (Some(schema_version), false) = (checked.schema_version, checked.violations.is_empty())
    else {
        return;
    };
    static RECORD: Statement = Statement {
        sql: "INSERT INTO chronicle.state_schema_violations
                     (entity_type, entity_id, version, schema_version, violations, recorded_at)
              VALUES ($1, $2, $3, $4, $5, clock_timestamp())",
        params: &[
            pg_sys::TEXTOID,
            pg_sys::TEXTOID,
            pg_sys::INT4OID,
            pg_sys::INT4OID,
            pg_sys::JSONBOID,
        ],
    };
    let violations = violations_json(&checked.violations);
    RECORD.run(
        client,
        &[
            key.entity_type.as_str().into(),
            key.entity_id.as_str().into(),
            version.into(),
            schema_version.into(),
            JsonbRef(&violations).into(),
        ],
    );
}

fn refuse(key: &EntityKey, schema: &ActiveSchema, violations: &[Violation]) -> ! {
    let mut message = format!("{key}: ");
    for (i, violation) in violations.iter().take(NAMED).enumerate() {
        if i > 0 {
            message.push_str("; ");
        }
        message.push_str(&violation.to_string());
    }
    if violations.len() > NAMED {
        let more = violations.len() - NAMED;
        message.push_str(&format!(
            "; and {more}{} more",
            if violations.len() == LISTED { "+" } else { "" }
        ));
    }
    let mut detail = format!(
        "The state does not match version {} of the schema of entity type {} (draft {}):",
        schema.version,
        quoted(&key.entity_type),
        schema.compiled.draft().name()
    );
    for violation in violations {
        detail.push_str("\n  ");
        detail.push_str(&violation.to_string());
    }
    raise_with_detail(PgSqlErrorCode::ERRCODE_CHECK_VIOLATION, message, detail)
}

fn violations_json(violations: &[Violation]) -> Value {
    Value::Array(
        violations
            .iter()
            .map(|v| {
                json!({ "path": v.instance_path, "keyword": v.keyword, "schema_path": v.schema_path, "message": v.message })
            })
            .collect(),
    )
}

// ---------------------------------------------------------------------------------------
// The per-backend cache and the lock that keeps it honest.

/// Bumped by every relcache invalidation of `chronicle.state_schemas` (or of everything).
static GENERATION: AtomicU64 = AtomicU64::new(0);

struct Cache {
    generation: u64,
    callback_registered: bool,
    by_type: HashMap<String, Option<Rc<ActiveSchema>>>,
}

thread_local! {
    static CACHE: RefCell<Cache> = RefCell::new(Cache { generation: 0, callback_registered: false, by_type: HashMap::new() });
}

/// The OID of `chronicle.state_schemas` (from the syscache: cheap, and right after the
/// extension is dropped and created again).
fn schema_table() -> pg_sys::Oid {
    let oid = crate::catalog::chronicle_relation(c"state_schemas");
    if oid == pg_sys::InvalidOid {
        raise(
            PgSqlErrorCode::ERRCODE_UNDEFINED_TABLE,
            "relation chronicle.state_schemas does not exist",
        );
    }
    oid
}

#[pg_guard]
unsafe extern "C-unwind" fn on_relcache_invalidation(_arg: pg_sys::Datum, relid: pg_sys::Oid) {
    // Only a flag: no catalog access, no allocation here. Any relation's invalidation
    // could be ours after a DROP/CREATE EXTENSION, so the OID is not compared.
    let _ = relid;
    GENERATION.fetch_add(1, Ordering::Relaxed);
}

/// Locks `chronicle.state_schemas` against schema changes until this transaction ends and
/// returns the schema in force for `entity_type`, if any.
fn schema_for_write(
    client: &mut SpiClient<'_>,
    table: pg_sys::Oid,
    entity_type: &str,
) -> Option<Rc<ActiveSchema>> {
    // SAFETY: a lock on an existing relation, released at transaction end. Taking it
    // processes pending invalidations (so a change committed meanwhile is seen).
    unsafe { pg_sys::LockRelationOid(table, pg_sys::RowExclusiveLock as pg_sys::LOCKMODE) };
    let generation = CACHE.with(|cache| {
        let mut cache = cache.borrow_mut();
        if !cache.callback_registered {
            // SAFETY: registered once per backend; the callback only bumps a counter.
            unsafe {
                pg_sys::CacheRegisterRelcacheCallback(
                    Some(on_relcache_invalidation),
                    pg_sys::Datum::from(0),
                )
            };
            cache.callback_registered = true;
            GENERATION.fetch_add(1, Ordering::Relaxed);
        }
        let now = GENERATION.load(Ordering::Relaxed);
        if cache.generation != now {
            cache.by_type.clear();
            cache.generation = now;
        }
        now
    });
    if let Some(hit) = CACHE.with(|cache| cache.borrow().by_type.get(entity_type).cloned()) {
        return hit;
    }
    let loaded = load_current(client, entity_type).map(|(version, schema, mode)| {
        let compiled = CompiledSchema::compile(&schema).unwrap_or_else(|error| {
            raise(
                PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
                format!(
                    "the stored schema version {version} of entity type {} cannot be used: {error}",
                    quoted(entity_type)
                ),
            )
        });
        Rc::new(ActiveSchema {
            version,
            mode,
            compiled,
        })
    });
    CACHE.with(|cache| {
        let mut cache = cache.borrow_mut();
        // An invalidation that arrived while loading makes what was loaded suspect.
        if cache.generation == generation && GENERATION.load(Ordering::Relaxed) == generation {
            if cache.by_type.len() >= CACHED_TYPES {
                cache.by_type.clear();
            }
            cache.by_type.insert(entity_type.to_owned(), loaded.clone());
        }
    });
    loaded
}

/// The newest schema version of `entity_type`, unless it drops the schema; read with the
/// latest snapshot (see the module documentation).
fn load_current(_client: &mut SpiClient<'_>, entity_type: &str) -> Option<(i32, Value, Mode)> {
    const SQL: &CStr = c"SELECT schema_version, schema, mode = 'warn' FROM chronicle.state_schemas
                          WHERE entity_type = $1 ORDER BY schema_version DESC LIMIT 1";
    let entity_type_datum = entity_type.into_datum().expect("text converts");
    let mut arg_types = [pg_sys::TEXTOID];
    let mut args = [entity_type_datum];
    // SAFETY: inside an SPI connection (the caller's client); the pushed snapshot is popped
    // on every path that returns, and an error unwinds the snapshot stack with the
    // (sub)transaction. read_only = true makes SPI run on the active snapshot.
    unsafe {
        pg_sys::PushActiveSnapshot(pg_sys::GetLatestSnapshot());
        let status = pg_sys::SPI_execute_with_args(
            SQL.as_ptr(),
            1,
            arg_types.as_mut_ptr(),
            args.as_mut_ptr(),
            std::ptr::null(),
            true,
            1,
        );
        pg_sys::PopActiveSnapshot();
        if status != pg_sys::SPI_OK_SELECT as i32 {
            raise(
                PgSqlErrorCode::ERRCODE_INTERNAL_ERROR,
                format!("reading chronicle.state_schemas failed (SPI status {status})"),
            );
        }
        if pg_sys::SPI_processed == 0 {
            return None;
        }
        let table = &*pg_sys::SPI_tuptable;
        let row = *table.vals;
        let column = |n: i32| {
            let mut is_null = false;
            let datum = pg_sys::SPI_getbinval(row, table.tupdesc, n, &mut is_null);
            (datum, is_null)
        };
        let (version, _) = column(1);
        let (schema, dropped) = column(2);
        let (warn, _) = column(3);
        if dropped {
            return None;
        }
        let version = i32::from_datum(version, false).expect("schema_version is NOT NULL");
        let schema = Jsonb::from_datum(schema, false)
            .expect("a non-null jsonb converts")
            .0;
        let mode = if bool::from_datum(warn, false).unwrap_or(false) {
            Mode::Warn
        } else {
            Mode::Enforce
        };
        Some((version, schema, mode))
    }
}

/// AFTER INSERT on `chronicle.state_schemas`, for each statement: a new schema version
/// reaches every writer. Takes the lock that waits for the writes in flight (see the
/// module documentation) and sends the invalidation that empties every backend's cache at
/// commit.
///
/// A trigger rather than a call in set_state_schema, because on Citus the table is a
/// reference table: its rows are inserted into a copy on every node, each firing this
/// trigger there, in the same distributed transaction. So the writers on each worker (a
/// delegated put_state runs there) wait for the change and then see it, as on one server.
#[pg_trigger(sql = r#"
CREATE FUNCTION chronicle._state_schemas_changed() RETURNS trigger
LANGUAGE c
AS '@MODULE_PATHNAME@', '@FUNCTION_NAME@';
COMMENT ON FUNCTION chronicle._state_schemas_changed() IS
  'Trigger: after a new schema version, waits for the state writes in flight and makes every backend reload the schemas at commit';
"#)]
fn state_schemas_changed<'a>(
    _trigger: &'a PgTrigger<'a>,
) -> Result<Option<PgHeapTuple<'a, pgrx::AllocatedByRust>>, pgrx::datum::TryFromDatumError> {
    let table = schema_table();
    // SAFETY: locks and invalidates an existing relation; the lock is released and the
    // invalidation sent at transaction end (applied locally at once, undone on abort).
    unsafe {
        pg_sys::LockRelationOid(table, pg_sys::ShareRowExclusiveLock as pg_sys::LOCKMODE);
        pg_sys::CacheInvalidateRelcacheByRelid(table);
    }
    Ok(None)
}

// ---------------------------------------------------------------------------------------
// SQL API.

fn compile_or_refuse(entity_type: &str, schema: &Value) -> CompiledSchema {
    CompiledSchema::compile(schema).unwrap_or_else(|error| {
        let code = match error {
            SchemaError::TooLarge { .. } | SchemaError::TooDeep => {
                PgSqlErrorCode::ERRCODE_PROGRAM_LIMIT_EXCEEDED
            }
            _ => PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
        };
        raise(
            code,
            format!(
                "invalid JSON Schema for entity type {}: {error}",
                quoted(entity_type)
            ),
        )
    })
}

fn lock_schemas(client: &mut SpiClient<'_>) {
    schema_table();
    client
        .update(
            "LOCK TABLE chronicle.state_schemas IN SHARE ROW EXCLUSIVE MODE",
            None,
            &[],
        )
        .expect("locking chronicle.state_schemas");
}

/// The newest row of an entity type's schema history, read under the lock.
fn newest(client: &mut SpiClient<'_>, entity_type: &str) -> Option<(i32, Option<Value>, String)> {
    static NEWEST: Statement = Statement {
        sql: "SELECT schema_version, schema, mode FROM chronicle.state_schemas
               WHERE entity_type = $1 ORDER BY schema_version DESC LIMIT 1",
        params: &[pg_sys::TEXTOID],
    };
    let rows = NEWEST.run(client, &[entity_type.into()]);
    let row = rows.first();
    let version = row.get::<i32>(1).ok()??;
    let schema = row.get::<Jsonb>(2).ok()?.map(|schema| schema.0);
    let mode = row.get::<String>(3).ok()??;
    Some((version, schema, mode))
}

fn append(
    client: &mut SpiClient<'_>,
    entity_type: &str,
    version: i32,
    schema: Option<&Value>,
    mode: &str,
) {
    static APPEND: Statement = Statement {
        sql: "INSERT INTO chronicle.state_schemas
                     (entity_type, schema_version, schema, mode, set_at, set_by, set_by_role)
              VALUES ($1, $2, $3, $4, clock_timestamp(), $5, $6)",
        params: &[
            pg_sys::TEXTOID,
            pg_sys::INT4OID,
            pg_sys::JSONBOID,
            pg_sys::TEXTOID,
            pg_sys::UUIDOID,
            pg_sys::TEXTOID,
        ],
    };
    // The role that called: SECURITY DEFINER changes current_user, not the outer user.
    // SAFETY: the outer user id is always a valid role.
    let role =
        unsafe { CStr::from_ptr(pg_sys::GetUserNameFromId(pg_sys::GetOuterUserId(), false)) }
            .to_string_lossy()
            .into_owned();
    APPEND.run(
        client,
        &[
            entity_type.into(),
            version.into(),
            schema.map(JsonbRef).into(),
            mode.into(),
            crate::identity::current_user_id().into(),
            role.as_str().into(),
        ],
    );
}

/// Attaches a JSON Schema to an entity type; every later write of the type is validated
/// against it. Returns the schema version (the current one when schema and mode are
/// unchanged).
#[pg_extern(security_definer)]
#[search_path(pg_catalog, pg_temp)]
fn set_state_schema(
    entity_type: Option<&str>,
    schema: Option<Jsonb>,
    mode: default!(Option<&str>, "'enforce'"),
) -> i32 {
    let entity_type = check_entity_type(entity_type);
    let Some(Jsonb(schema)) = schema else {
        raise_with_hint(
            PgSqlErrorCode::ERRCODE_NULL_VALUE_NOT_ALLOWED,
            "schema must not be NULL",
            "To remove an entity type's schema, call chronicle.drop_state_schema(entity_type).",
        )
    };
    let mode = Mode::parse(mode);
    compile_or_refuse(&entity_type, &schema);
    Spi::connect_mut(|client| {
        lock_schemas(client);
        let newest = newest(client, &entity_type);
        if let Some((version, Some(current), current_mode)) = &newest {
            if chronicle_json::json_equal(current, &schema) && current_mode == mode.name() {
                return *version;
            }
        }
        let version = newest.map_or(1, |(version, _, _)| version + 1);
        append(client, &entity_type, version, Some(&schema), mode.name());
        version
    })
}

/// Removes an entity type's schema (as a new, dropping version of its history). False
/// when the type had none.
#[pg_extern(security_definer)]
#[search_path(pg_catalog, pg_temp)]
fn drop_state_schema(entity_type: Option<&str>) -> bool {
    let entity_type = check_entity_type(entity_type);
    Spi::connect_mut(|client| {
        lock_schemas(client);
        match newest(client, &entity_type) {
            Some((version, Some(_), _)) => {
                append(client, &entity_type, version + 1, None, "dropped");
                true
            }
            _ => false,
        }
    })
}

/// The dry run: validates every current state of `entity_type` against `schema` (or the
/// schema in force when it is NULL) and returns those that fail, with up to 20
/// violations each. Reads the states with the caller's rights.
#[pg_extern]
#[search_path(pg_catalog, pg_temp)]
fn validate_states(
    entity_type: Option<&str>,
    schema: default!(Option<Jsonb>, "NULL"),
) -> TableIterator<
    'static,
    (
        name!(entity_id, String),
        name!(version, i32),
        name!(violations, Jsonb),
    ),
> {
    let entity_type = check_entity_type(entity_type);
    let failures = Spi::connect_mut(|client| {
        let schema = match schema {
            Some(Jsonb(schema)) => schema,
            None => match newest(client, &entity_type) {
                Some((_, Some(schema), _)) => schema,
                _ => raise_with_hint(
                    PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
                    format!("entity type {} has no schema", quoted(&entity_type)),
                    "Pass the schema to check against: chronicle.validate_states(entity_type, schema).",
                ),
            },
        };
        let compiled = compile_or_refuse(&entity_type, &schema);
        let mut failures = Vec::new();
        let mut cursor = client.open_cursor(
            "SELECT entity_id, version, state FROM chronicle.current_state WHERE entity_type = $1 ORDER BY entity_id",
            &[entity_type.as_str().into()],
        );
        loop {
            let batch = cursor.fetch(100).expect("fetching current states");
            if batch.is_empty() {
                break;
            }
            for row in batch {
                let entity_id: String = row.get(1).ok().flatten().expect("entity_id is NOT NULL");
                let version: i32 = row.get(2).ok().flatten().expect("version is NOT NULL");
                let Jsonb(state) = row.get(3).ok().flatten().expect("state is NOT NULL");
                let violations = match compiled.violations(&state, LISTED) {
                    Ok(violations) => violations_json(&violations),
                    Err(too_complex) => {
                        json!([{ "path": "", "keyword": null, "schema_path": "", "message": too_complex.to_string() }])
                    }
                };
                if violations.as_array().is_some_and(|list| !list.is_empty()) {
                    failures.push((entity_id, version, Jsonb(violations)));
                }
                pg_sys::check_for_interrupts!();
            }
        }
        failures
    });
    TableIterator::new(failures)
}

/// Validates one JSON document against a JSON Schema: the violations (an empty array when
/// it conforms), up to 20. For CHECK constraints and ad-hoc checks; it compiles the schema
/// on every call.
#[pg_extern(immutable, parallel_safe)]
#[search_path(pg_catalog, pg_temp)]
fn json_schema_violations(schema: Jsonb, document: Jsonb) -> Jsonb {
    let compiled = CompiledSchema::compile(&schema.0).unwrap_or_else(|error| {
        raise(
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            format!("invalid JSON Schema: {error}"),
        )
    });
    match compiled.violations(&document.0, LISTED) {
        Ok(violations) => Jsonb(violations_json(&violations)),
        Err(too_complex) => raise(
            PgSqlErrorCode::ERRCODE_STATEMENT_TOO_COMPLEX,
            too_complex.to_string(),
        ),
    }
}

fn quoted(text: &str) -> String {
    let mut quoted: String = text.chars().take(100).collect();
    if quoted.len() < text.len() {
        quoted.push('…');
    }
    format!("\"{quoted}\"")
}
