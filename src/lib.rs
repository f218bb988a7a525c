//! pg_chronicle: trigger-enforced JSONB state versioning, command-execution metrics on a
//! mergeable percentile sketch, and a queue that keeps GitHub Gists in sync.
//!
//! One module per SQL object family; the hand-written DDL each module needs lives in
//! `sql/` and is pulled in with `extension_sql_file!` next to the Rust it belongs to.
//! Pure algorithms (canonical JSON, JSON Patch, the quantile sketch) live in `crates/`
//! and know nothing of PostgreSQL.

use pgrx::prelude::*;

#[macro_use]
mod abi;
mod catalog;
mod clock;
mod errors;
pub mod executions;
pub mod export;
mod identity;
mod jsonb;
pub mod metrics;
mod plan_cache;
mod scale_out;
mod settings;
pub mod sketch;
pub mod state;

::pgrx::pg_module_magic!(name, version);

extension_sql_file!("../sql/bootstrap.sql", name = "bootstrap", bootstrap);

extension_sql_file!("../sql/finalize.sql", name = "finalize", finalize);

#[pg_guard]
pub extern "C-unwind" fn _PG_init() {
    // pgrx appends a captured Rust backtrace (source paths, symbols) to the DETAIL of an
    // error raised from Rust whenever the server's environment asks for backtraces
    // (RUST_BACKTRACE, as these machines set it). Clients must never see our internals.
    // A backend is single-threaded, and nothing has captured a backtrace before this.
    std::env::set_var("RUST_LIB_BACKTRACE", "0");
    settings::register();
}

/// Hooks for `cargo pgrx test`: the in-module `#[pg_test]`s run in a database that has
/// the extension created.
#[cfg(test)]
pub mod pg_test {
    pub fn setup(_options: Vec<&str>) {}

    pub fn postgresql_conf_options() -> Vec<&'static str> {
        vec![]
    }
}
