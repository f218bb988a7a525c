//! chronicle-gist: keeps GitHub Gists in sync with the pg_chronicle
//! PostgreSQL extension.
//!
//! * [`export`]: claims rows of the export queue and sends them with
//!   `PATCH /gists/{id}`, acking each with the Gist revision it created;
//! * [`import`]: loads a gist's whole revision history into the state store;
//! * [`verify`]: compares current entities with their gist files by
//!   canonical-JSON checksum.
//!
//! Database access goes through the [`db::Queue`] and [`db::StateStore`]
//! traits: [`pg::PgDatabase`] implements them on PostgreSQL,
//! [`memory`] has in-memory fakes. [`fake_github`] is a fake Gist API for
//! tests; [`bench`](mod@bench) drains queues and times it. The binary (`src/main.rs`)
//! only calls [`cli::main`].

pub mod bench;
pub mod cli;
pub mod db;
pub mod export;
pub mod fake_github;
pub mod github;
pub mod import;
pub mod memory;
pub mod pg;
pub mod time;
pub mod verify;

pub use db::{ClaimedExport, DbError, Mode, Operation, Queue, StateStore};
pub use export::{ExportConfig, ExportError, ExportReport, Exporter};
pub use github::{ApiError, GithubClient};
pub use import::{run_import, ImportOptions, ImportReport};
pub use verify::{run_verify, VerifyOptions, VerifyReport};
