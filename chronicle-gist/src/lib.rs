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
//! traits: [`pg::PgDatabase`] implements them on PostgreSQL. The fakes for
//! tests (a Gist API, an in-memory queue and store) live in the
//! `chronicle-gist-testkit` crate, so the installed binary carries no test
//! code. The binary (`src/main.rs`) only calls [`cli::main`].

pub mod cli;
pub mod db;
pub mod export;
pub mod github;
pub mod import;
pub mod pg;
pub mod time;
pub mod tls;
pub mod verify;

pub use db::{ClaimedExport, DbError, Mode, Operation, Queue, StateStore};
pub use export::{ExportConfig, ExportError, ExportReport, Exporter};
pub use github::{ApiError, GithubClient};
pub use import::{run_import, ImportOptions, ImportReport};
pub use verify::{run_verify, VerifyOptions, VerifyReport};
