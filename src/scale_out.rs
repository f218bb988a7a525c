//! Scale-out on Citus: `chronicle.distribute()` distributes the command executions and
//! the record of the metrics they changed over a Citus cluster's workers. All of it is
//! SQL (sql/citus.sql); what runs on the shards is the executions' own triggers, which
//! find themselves on a shard (sql/metrics_refresh.sql). docs/citus.md explains the design.

use pgrx::prelude::*;

extension_sql_file!(
    "../sql/citus.sql",
    name = "citus",
    requires = ["metrics_refresh", "executions_api"]
);
