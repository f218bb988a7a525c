//! Command executions: `chronicle.command_executions`, the lifecycle every writer goes
//! through, and `chronicle.track()` for RudderStack-shaped events.
//!
//! - `sql/executions.sql`: the table, indexes, row-level security, `command_events`;
//! - `lifecycle`: the trigger enforcing the status order, finish times and redaction;
//! - `track`: mapping a track call onto an execution;
//! - `sql/executions_api.sql`: start_command, finish_command, record_command.

mod lifecycle;
mod track;

use pgrx::prelude::*;

extension_sql_file!(
    "../../sql/executions.sql",
    name = "executions_tables",
    requires = ["bootstrap", identity::current_user_id]
);

extension_sql_file!(
    "../../sql/executions_api.sql",
    name = "executions_api",
    requires = [
        "executions_tables",
        lifecycle::command_executions_lifecycle,
        track::track
    ]
);
