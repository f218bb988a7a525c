//! The versioned state store: `chronicle.state_store`, its triggers and functions.
//!
//! - `sql/state.sql`: tables, the `state_store` and `current_state` views, the read-side
//!   SQL functions;
//! - `store`: the single write path (locking, numbering, inserting versions) and reads;
//! - `trigger`: the view's INSERT trigger and the guard that keeps history immutable;
//! - `api`: put/patch/revert/delete/diff;
//! - `schema`: JSON Schemas per entity type, checked on the write path
//!   (`sql/state_schemas.sql` holds their history).

mod api;
pub mod schema;
pub mod store;
pub mod trigger;

use pgrx::prelude::*;

extension_sql_file!(
    "../../sql/state.sql",
    name = "state_tables",
    requires = ["bootstrap", identity::current_user_id]
);

extension_sql_file!(
    "../../sql/state_reads.sql",
    name = "state_reads",
    requires = ["state_tables"]
);

extension_sql_file!(
    "../../sql/state_schemas.sql",
    name = "state_schemas",
    requires = ["state_tables"]
);

extension_sql_file!(
    "../../sql/state_triggers.sql",
    name = "state_triggers",
    requires = [
        "state_tables",
        trigger::state_store_insert,
        trigger::state_history_guard,
        api::put_state,
        api::patch_state,
        api::revert_state,
        api::delete_state,
        api::state_diff,
        schema::set_state_schema,
        schema::drop_state_schema,
        schema::validate_states,
        schema::json_schema_violations,
        schema::state_schemas_changed,
        "state_schemas",
    ]
);

#[cfg(any(test, feature = "pg_test"))]
#[pg_schema]
mod tests {
    use pgrx::prelude::*;

    fn put(entity_id: &str, state: &str) -> i32 {
        Spi::get_one::<i32>(&format!(
            "SELECT chronicle.put_state('test', '{entity_id}', '{state}')"
        ))
        .expect("put_state runs")
        .expect("put_state returns a version")
    }

    #[pg_test]
    fn versions_count_up_and_unchanged_writes_are_skipped() {
        assert_eq!(put("a", r#"{"n": 1}"#), 1);
        assert_eq!(put("a", r#"{"n": 2}"#), 2);
        assert_eq!(put("a", r#"{"n": 2.0}"#), 2);
        let rows =
            Spi::get_one::<i64>("SELECT count(*) FROM chronicle.state_store WHERE entity_id = 'a'");
        assert_eq!(rows, Ok(Some(2)));
    }

    /// The least time a write may take: a microsecond later, infinities unchanged, and the
    /// end of the timestamp range a clean error (22008) as with PostgreSQL's own `+`.
    #[pg_test]
    fn microsecond_after_adds_one_microsecond() {
        let later = Spi::get_one::<bool>(
            "SELECT chronicle._microsecond_after('2026-12-04 10:00:00+00')
                    = '2026-12-04 10:00:00.000001+00'
                AND chronicle._microsecond_after('-infinity') = '-infinity'
                AND chronicle._microsecond_after('infinity') = 'infinity'
                AND chronicle._microsecond_after(NULL) IS NULL",
        );
        assert_eq!(later, Ok(Some(true)));
    }

    #[pg_test(error = "timestamp out of range")]
    fn microsecond_after_the_last_time_is_an_error() {
        Spi::run("SELECT chronicle._microsecond_after('294276-12-31 23:59:59.999999+00')")
            .expect("rejected");
    }

    /// Kept plans must survive the tables they use being dropped and recreated in the
    /// same backend (the plan cache revalidates them from the statement text).
    #[pg_test]
    fn kept_plans_survive_extension_recreation() {
        assert_eq!(put("b", r#"{"n": 1}"#), 1);
        Spi::run("DROP EXTENSION pg_chronicle; CREATE EXTENSION pg_chronicle").expect("recreate");
        assert_eq!(put("b", r#"{"n": 1}"#), 1);
        assert_eq!(put("b", r#"{"n": 2}"#), 2);
    }

    /// Even the owner cannot rewrite history through the storage table.
    #[pg_test(
        error = "chronicle.state_store is append-only: its history cannot be updated, deleted or truncated"
    )]
    fn storage_rows_cannot_be_updated() {
        put("c", r#"{"n": 1}"#);
        put("c", r#"{"n": 2}"#);
        Spi::run("UPDATE chronicle.state_versions SET state = '{}' WHERE entity_id = 'c'")
            .expect("rejected by the guard, which raises");
    }

    /// A document nested deeper than chronicle_json::MAX_DEPTH is a clean error, not a
    /// stack overflow in the backend.
    #[pg_test(
        error = "cannot process jsonb value: JSON value is nested more than 1000 levels deep"
    )]
    fn deeply_nested_state_is_a_clean_error() {
        let deep = format!("{}{}", "[".repeat(5000), "]".repeat(5000));
        put("d", &deep);
    }

    #[pg_test]
    fn nesting_within_the_limit_is_stored() {
        let deep = format!("{}{}", "[".repeat(900), "]".repeat(900));
        assert_eq!(put("e", &deep), 1);
    }
}
