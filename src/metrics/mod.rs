//! Command metrics: the hourly and daily rollups of `chronicle.command_executions` and
//! their incremental refresh. All of it is SQL: the tables in sql/metrics.sql; the
//! trigger that records changed buckets, the refresh and what schedules and prunes it in
//! sql/metrics_refresh.sql. The work is set-based queries over the executions, and the
//! sketch aggregates it builds on are in `crate::sketch`.

use pgrx::prelude::*;

extension_sql_file!(
    "../../sql/metrics.sql",
    name = "metrics",
    requires = ["executions_api", "sketch_aggregates"]
);

extension_sql_file!(
    "../../sql/metrics_refresh.sql",
    name = "metrics_refresh",
    requires = ["metrics"]
);
