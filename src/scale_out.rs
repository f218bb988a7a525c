//! Scale-out on Citus: `chronicle.distribute()` distributes the command executions and
//! the record of the metrics they changed over a Citus cluster's workers. All of it is
//! SQL (sql/citus.sql); what runs on the shards is the executions' own triggers, which
//! find themselves on a shard (sql/metrics_refresh.sql). docs/citus.md explains the design.

use std::cell::Cell;

use pgrx::pg_sys;
use pgrx::prelude::*;
use pgrx::spi::SpiClient;

use crate::catalog::{catalog_relation, chronicle_relation};
use crate::plan_cache::Statement;

extension_sql_file!(
    "../sql/citus.sql",
    name = "citus",
    requires = ["metrics_refresh", "executions_api"]
);

thread_local! {
    // The outbox this backend found distributed; a backend is one thread. Kept by OID,
    // so an extension dropped and created again is looked at afresh.
    static DISTRIBUTED: Cell<pg_sys::Oid> = const { Cell::new(pg_sys::InvalidOid) };
}

/// Whether this database has Citus's metadata.
pub fn has_citus() -> bool {
    catalog_relation(c"pg_dist_partition") != pg_sys::InvalidOid
}

/// Whether `chronicle.distribute()` has distributed the state store (its export outbox
/// stands for it: distribute() does the whole store in one transaction). On a server
/// without Citus this costs one catalog cache lookup.
pub fn state_is_distributed(client: &mut SpiClient<'_>) -> bool {
    static IS_DISTRIBUTED: Statement = Statement {
        sql: "SELECT EXISTS (SELECT FROM pg_catalog.pg_dist_partition
                              WHERE logicalrelid = 'chronicle.gist_export_outbox'::regclass)",
        params: &[],
    };
    if !has_citus() {
        return false;
    }
    let outbox = chronicle_relation(c"gist_export_outbox");
    if outbox != pg_sys::InvalidOid && DISTRIBUTED.get() == outbox {
        return true;
    }
    let distributed = IS_DISTRIBUTED
        .run(client, &[])
        .first()
        .get_one::<bool>()
        .ok()
        .flatten()
        .unwrap_or(false);
    if distributed {
        DISTRIBUTED.set(outbox);
    }
    distributed
}
