//! The export outbox (sql/export_outbox.sql): on Citus, where a state write runs on the
//! worker that holds the entity, its export is added beside it, and `export_claim` on the
//! coordinator moves what has committed into the queue. docs/export-queue.md#on-citus
//! says why the order and the guarantees of the queue hold.

use pgrx::datum::{DatumWithOid, TimestampWithTimeZone};
use pgrx::pg_sys;
use pgrx::prelude::*;
use pgrx::spi::SpiClient;

use crate::export::enqueue::{add_to_queue, PARAMS};
use crate::plan_cache::Statement;

/// The queue's enqueueing parameters, then the time of the change.
const OUTBOX_PARAMS: [pg_sys::Oid; 10] = {
    let mut params = [pg_sys::TIMESTAMPTZOID; 10];
    let mut i = 0;
    while i < PARAMS.len() {
        params[i] = PARAMS[i];
        i += 1;
    }
    params
};

/// Adds an export to the outbox; `args` are the queue's enqueueing parameters
/// ([`PARAMS`]).
pub fn add(
    client: &mut SpiClient<'_>,
    args: [DatumWithOid<'_>; 9],
    changed_at: TimestampWithTimeZone,
) {
    static ADD: Statement = Statement {
        sql: "INSERT INTO chronicle.gist_export_outbox
                     (gist_id, file_name, operation, entity_type, entity_id, version, checksum,
                      payload, mode, changed_at)
              VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        params: &OUTBOX_PARAMS,
    };
    let [gist_id, file_name, operation, entity_type, entity_id, version, checksum, payload, mode] =
        args;
    ADD.run(
        client,
        &[
            gist_id,
            file_name,
            operation,
            entity_type,
            entity_id,
            version,
            checksum,
            payload,
            mode,
            changed_at.into(),
        ],
    );
}

/// Exports moved into the queue per call, at most; the rest wait for the next claim.
const TAKEN_ROWS: i64 = 1000;
/// Payload bytes moved per call, at most (but always at least one export): what a take
/// holds in memory is bounded before it is read.
const TAKEN_BYTES: i64 = 32 * 1024 * 1024;

/// Moves committed exports from the outbox into the queue, oldest change first, and
/// returns how many. Called by `export_claim` on the coordinator; does nothing where
/// Citus is not installed. Concurrent claims do not wait for each other here: the one that
/// gets the lock moves the exports, the others claim what is already queued.
#[pg_extern(volatile, parallel_unsafe, name = "_export_take_outbox")]
#[search_path(pg_catalog, pg_temp)]
fn export_take_outbox() -> i64 {
    // The two statements on the distributed outbox are planned at each call, not kept:
    // Citus plans a multi-shard statement with parameters only as a custom plan, and
    // export_claim, which calls this, holds its own statements to generic plans. They run
    // once per claim, and only on Citus.
    const OLDEST: &str = "SELECT entity_type, entity_id, version, operation,
                                 coalesce(octet_length(payload), 0)::bigint
                            FROM chronicle.gist_export_outbox
                           ORDER BY changed_at, entity_type, entity_id, version, operation
                           LIMIT $1";
    const TAKE: &str = "WITH taken AS (
                DELETE FROM chronicle.gist_export_outbox o
                 USING unnest($1::text[], $2::text[], $3::integer[], $4::text[]) AS k(entity_type, entity_id, version, operation)
                 WHERE o.entity_type = k.entity_type AND o.entity_id = k.entity_id
                   AND o.version = k.version AND o.operation = k.operation
                RETURNING o.*)
              SELECT gist_id, file_name, operation, entity_type, entity_id, version, checksum,
                     payload, mode
                FROM taken
               ORDER BY changed_at, entity_type, entity_id, version, operation";
    if !crate::scale_out::has_citus() {
        return 0;
    }
    Spi::connect_mut(|client| {
        // One taker at a time: two multi-shard DELETEs of the same rows could each lock
        // some and wait for the other's.
        static ONE_TAKER: Statement = Statement {
            sql: "SELECT pg_catalog.pg_try_advisory_xact_lock(
                           'chronicle.gist_export_outbox'::regclass::oid::bigint)",
            params: &[],
        };
        let locked = ONE_TAKER.run(client, &[]).first().get_one::<bool>();
        if !matches!(locked, Ok(Some(true))) {
            return 0;
        }
        let (mut types, mut ids, mut versions, mut operations) = (vec![], vec![], vec![], vec![]);
        let mut bytes = 0i64;
        let oldest = client
            .update(OLDEST, None, &[TAKEN_ROWS.into()])
            .unwrap_or_else(|error| panic!("reading the outbox failed: {error}"));
        for row in oldest {
            let size = row.get::<i64>(5).ok().flatten().unwrap_or(0);
            if !types.is_empty() && bytes + size > TAKEN_BYTES {
                break;
            }
            bytes += size;
            types.push(row.get::<String>(1).ok().flatten().unwrap_or_default());
            ids.push(row.get::<String>(2).ok().flatten().unwrap_or_default());
            versions.push(row.get::<i32>(3).ok().flatten().unwrap_or_default());
            operations.push(row.get::<String>(4).ok().flatten().unwrap_or_default());
        }
        if types.is_empty() {
            return 0;
        }
        // Read whole before the first is queued: queueing runs statements of its own.
        let taken: Vec<TakenExport> = client
            .update(
                TAKE,
                None,
                &[types.into(), ids.into(), versions.into(), operations.into()],
            )
            .unwrap_or_else(|error| panic!("taking from the outbox failed: {error}"))
            .map(|row| {
                let text = |n: usize| row.get::<String>(n).ok().flatten();
                TakenExport {
                    text: [
                        text(1),
                        text(2),
                        text(3),
                        text(4),
                        text(5),
                        text(7),
                        text(8),
                        text(9),
                    ],
                    version: row.get::<i32>(6).ok().flatten(),
                }
            })
            .collect();
        for export in &taken {
            let [gist_id, file_name, operation, entity_type, entity_id, checksum, payload, mode] =
                &export.text;
            add_to_queue(
                client,
                &[
                    gist_id.as_deref().into(),
                    file_name.as_deref().into(),
                    operation.as_deref().into(),
                    entity_type.as_deref().into(),
                    entity_id.as_deref().into(),
                    export.version.into(),
                    checksum.as_deref().into(),
                    payload.as_deref().into(),
                    mode.as_deref().into(),
                ],
            );
        }
        taken.len() as i64
    })
}

/// An export read from the outbox: its text columns in the queue's parameter order
/// (version apart).
struct TakenExport {
    text: [Option<String>; 8],
    version: Option<i32>,
}
