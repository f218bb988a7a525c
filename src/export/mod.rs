//! The Gist export queue: targets (which entity types go to which Gist), the enqueueing
//! the state store's write path does in the same transaction as each write, the
//! claim/ack/fail protocol for exporters (sql/export_queue.sql), and the import of Gist
//! history.
//!
//! - `sql/export.sql`: tables;
//! - `targets`: set_gist_target and file names (templates are in `crates/gist-naming`);
//! - `enqueue`: what a state write or deletion adds to the queue;
//! - `outbox`: on Citus, where that export waits beside the state until a claim moves it;
//! - `import`: import_state_version, the one way to write a version with a past timestamp.

pub mod enqueue;
mod import;
mod outbox;
pub mod targets;

use pgrx::prelude::*;

extension_sql_file!(
    "../../sql/export.sql",
    name = "export_tables",
    requires = ["state_tables"]
);

// On Citus, where exports wait beside the states until a claim moves them (outbox).
extension_sql_file!(
    "../../sql/export_outbox.sql",
    name = "export_outbox",
    requires = ["export_tables"]
);

// Delivered exports, taken out of the queue by an ack.
extension_sql_file!(
    "../../sql/export_deliveries.sql",
    name = "export_deliveries",
    requires = ["export_tables"]
);

extension_sql_file!(
    "../../sql/export_queue.sql",
    name = "export_queue",
    requires = [
        "export_tables",
        "export_outbox",
        "export_deliveries",
        outbox::export_take_outbox,
        targets::set_gist_target,
        targets::gist_file_name,
        targets::gist_targets_check,
        import::import_state_version
    ]
);

// The write budget and the secondary-limit pause shared by every exporter of the
// database; export_stats (export_queue) reports the drain rate they leave.
extension_sql_file!(
    "../../sql/gist_limits.sql",
    name = "gist_limits",
    requires = ["export_queue"]
);
