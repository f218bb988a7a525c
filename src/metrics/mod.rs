//! Command metrics: the hourly and daily rollups of `chronicle.command_executions` and
//! their incremental refresh. All of it is SQL (sql/metrics.sql): the work is set-based
//! queries over the executions, and the sketch aggregates it builds on are in
//! `crate::sketch`.

use pgrx::prelude::*;

extension_sql_file!(
    "../../sql/metrics.sql",
    name = "metrics",
    requires = ["executions_api", "sketch_aggregates"]
);
