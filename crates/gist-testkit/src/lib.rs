//! Test support for `chronicle-gist`, kept out of the installed binary.
//!
//! * [`fake_github`]: a fake of the GitHub Gist REST API on loopback, with
//!   GitHub's primary and secondary rate limits, `Retry-After` and ETags;
//!   `src/bin/fake_github.rs` runs it as a process for shell scripts;
//! * [`memory`]: in-memory fakes of the [`chronicle_gist::db`] traits that
//!   follow the database contract;
//! * [`bench`](mod@bench): drains queues and times it
//!   (`src/bin/export_bench.rs`).

pub mod bench;
pub mod fake_github;
pub mod memory;
