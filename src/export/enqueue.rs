//! What a state write or deletion adds to the Gist export queue, in the same transaction,
//! so that no committed version can be missed by the exporter.

use pgrx::pg_sys;
use pgrx::prelude::*;
use pgrx::spi::SpiClient;
use serde_json::Value;

use crate::export::targets::GistTarget;
use crate::plan_cache::Statement;

/// The parameters of every enqueueing statement: gist id, file name, operation, entity
/// type, entity id, version, checksum, payload, mode.
const PARAMS: &[pg_sys::Oid] = &[
    pg_sys::TEXTOID,
    pg_sys::TEXTOID,
    pg_sys::TEXTOID,
    pg_sys::TEXTOID,
    pg_sys::TEXTOID,
    pg_sys::INT4OID,
    pg_sys::TEXTOID,
    pg_sys::TEXTOID,
    pg_sys::TEXTOID,
];

/// The change to a Gist file.
pub enum FileChange<'a> {
    /// The file becomes this version's state.
    Write {
        version: i32,
        checksum: &'a str,
        state: &'a Value,
    },
    /// The entity was deleted at this version: the file goes.
    Remove { version: i32 },
}

/// Queues a change of an entity's Gist file and wakes exporters at commit.
///
/// A file's exports leave one at a time, in order: the oldest unfinished one is the
/// file's head (pending or in flight) and the others wait behind it (see
/// `chronicle.gist_export_queue`). The export is inserted as the head; if the file has
/// one, the unique index on heads turns the insert into a lock on that head, and the
/// export waits behind it instead. Holding the head's row lock until commit is what keeps
/// the export from being stranded: whoever finishes the head (ack, or a failure that
/// makes it dead) waits for this transaction and then sees the export to make it the next
/// head. The head is also updated (to the same values) rather than only locked, so that
/// a finisher running at REPEATABLE READ, whose snapshot could not see this export, fails
/// to serialize instead of stranding it.
///
/// In `latest` mode the file's newest unfinished export takes the new content instead of
/// a row being added, unless an exporter holds it: a row in flight is never changed. In
/// `every_version` mode every version is its own row and so its own Gist revision.
pub fn enqueue(
    client: &mut SpiClient<'_>,
    target: &GistTarget,
    entity_type: &str,
    entity_id: &str,
    change: FileChange<'_>,
) {
    // The head, or in latest mode the new content of a pending head with nothing behind
    // it. Returns no row when the file's head stays as it was; it is then locked.
    static AS_HEAD: Statement = Statement {
        sql: "INSERT INTO chronicle.gist_export_queue AS q
                     (gist_id, file_name, operation, mode, entity_type, entity_id, version, checksum, payload)
              VALUES ($1, $2, $3, $9, $4, $5, $6, $7, $8)
              ON CONFLICT (gist_id, file_name) WHERE stage = 'head'
              DO UPDATE SET operation = excluded.operation, entity_type = excluded.entity_type,
                            entity_id = excluded.entity_id, version = excluded.version,
                            checksum = excluded.checksum, payload = excluded.payload,
                            enqueued_at = now()
                      WHERE q.status = 'pending' AND q.mode = 'latest' AND excluded.mode = 'latest'
                        AND NOT EXISTS (SELECT FROM chronicle.gist_export_queue w
                                         WHERE w.gist_id = q.gist_id AND w.file_name = q.file_name
                                           AND w.stage = 'waiting')
              RETURNING q.id",
        params: PARAMS,
    };
    // Behind the head this transaction has locked: the head is updated to itself (see
    // above), then in latest mode the newest waiting export takes the new content if it
    // is a latest one, and otherwise the export is added as waiting.
    static BEHIND_HEAD: Statement = Statement {
        sql: "WITH head AS (
                UPDATE chronicle.gist_export_queue q SET status = q.status
                 WHERE q.gist_id = $1 AND q.file_name = $2 AND q.stage = 'head'
                RETURNING q.id),
              newest_waiting AS (
                SELECT w.id, w.mode
                  FROM chronicle.gist_export_queue w
                 WHERE w.gist_id = $1 AND w.file_name = $2 AND w.stage = 'waiting'
                 ORDER BY w.id DESC
                 LIMIT 1),
              replaced AS (
                UPDATE chronicle.gist_export_queue q
                   SET operation = $3, entity_type = $4, entity_id = $5, version = $6, checksum = $7,
                       payload = $8, enqueued_at = now()
                  FROM newest_waiting n
                 WHERE q.id = n.id AND n.mode = 'latest' AND $9 = 'latest'
                RETURNING q.id)
              INSERT INTO chronicle.gist_export_queue
                     (gist_id, file_name, operation, mode, entity_type, entity_id, version, checksum, payload, status)
              SELECT $1, $2, $3, $9, $4, $5, $6, $7, $8,
                     -- The head cannot have gone while this transaction holds its lock; if
                     -- it had, the export would become the head (or meet the one there).
                     CASE WHEN EXISTS (SELECT FROM head) THEN 'waiting' ELSE 'pending' END
               WHERE NOT EXISTS (SELECT FROM replaced)",
        params: PARAMS,
    };
    let file_name = target.file_name(entity_type, entity_id);
    let (operation, version, checksum, payload) = match change {
        FileChange::Write {
            version,
            checksum,
            state,
        } => ("write", version, Some(checksum), Some(file_content(state))),
        FileChange::Remove { version } => ("remove", version, None, None),
    };
    let args = [
        target.gist_id.as_str().into(),
        file_name.as_str().into(),
        operation.into(),
        entity_type.into(),
        entity_id.into(),
        version.into(),
        checksum.into(),
        payload.as_deref().into(),
        target.mode.as_str().into(),
    ];
    if queue_has_heads() {
        if AS_HEAD.run(client, &args).is_empty() {
            BEHIND_HEAD.run(client, &args);
        }
    } else if target.mode == "every_version" {
        LEGACY_EVERY_VERSION.run(client, &args);
    } else {
        LEGACY_LATEST.run(client, &args);
    }
    notify_exporters();
}

// The queue of releases 0.1.0 and 0.2.0, which a database keeps until ALTER EXTENSION
// pg_chronicle UPDATE runs: the library is replaced first, and writes must go on working
// meanwhile. There a file's order is the claim's to keep; the latest-mode statement
// replaces the payload of the file's pending row.
static LEGACY_LATEST: Statement = Statement {
    sql: "INSERT INTO chronicle.gist_export_queue
                 (gist_id, file_name, operation, mode, entity_type, entity_id, version, checksum, payload)
          VALUES ($1, $2, $3, 'latest', $4, $5, $6, $7, $8)
          ON CONFLICT (gist_id, file_name) WHERE status = 'pending' AND mode = 'latest'
          DO UPDATE SET operation = excluded.operation, entity_type = excluded.entity_type,
                        entity_id = excluded.entity_id, version = excluded.version,
                        checksum = excluded.checksum, payload = excluded.payload,
                        enqueued_at = now()",
    params: PARAMS,
};
static LEGACY_EVERY_VERSION: Statement = Statement {
    sql: "INSERT INTO chronicle.gist_export_queue
                 (gist_id, file_name, operation, mode, entity_type, entity_id, version, checksum, payload)
          VALUES ($1, $2, $3, 'every_version', $4, $5, $6, $7, $8)",
    params: PARAMS,
};

/// Whether the database's queue keeps each file's head (release 0.3.0 on): it has the
/// `stage` column. Three catalog cache lookups, so cheap enough for every write.
fn queue_has_heads() -> bool {
    // SAFETY: catalog cache lookups by name inside a transaction; each returns
    // InvalidOid (or InvalidAttrNumber) for a missing object and the next accepts it.
    unsafe {
        let schema = pg_sys::get_namespace_oid(c"chronicle".as_ptr(), true);
        let queue = pg_sys::get_relname_relid(c"gist_export_queue".as_ptr(), schema);
        queue != pg_sys::InvalidOid
            && pg_sys::get_attnum(queue, c"stage".as_ptr()) != pg_sys::InvalidAttrNumber as i16
    }
}

/// The Gist file's content: the state as indented JSON, keys sorted, for people reading
/// the Gist; the exporter sends it as it is. Indentation repeats with depth, so a state
/// nested deep with many leaves would be hundreds of times its size indented: when the
/// indented text would not fit in `chronicle.max_state_bytes` (a Gist file's limit too),
/// the file is the compact canonical JSON instead, which always fits.
fn file_content(state: &Value) -> String {
    if chronicle_json::pretty_len(state) < crate::settings::max_state_bytes() {
        let mut text = serde_json::to_string_pretty(state).expect("a JSON value always serializes");
        text.push('\n');
        text
    } else {
        let mut text = chronicle_json::canonical_string(state);
        text.push('\n');
        text
    }
}

/// `NOTIFY chronicle_export` at commit, once per transaction, so exporters wake up.
///
/// Sent from a pre-commit callback rather than during the write: PostgreSQL refuses to
/// `PREPARE TRANSACTION` a transaction that has notified, and two-phase commit (Citus's
/// included) must be able to write states. A prepared transaction fires no pre-commit
/// callback, so its exports wake nobody; exporters find them on their next poll.
fn notify_exporters() {
    thread_local! {
        // The top transaction that already has the callback; a backend is one thread.
        static REGISTERED_FOR: std::cell::Cell<pg_sys::TransactionId> =
            const { std::cell::Cell::new(pg_sys::InvalidTransactionId) };
    }
    // SAFETY: inside a transaction that has just written the queue, so it has an xid.
    let xid = unsafe { pg_sys::GetTopTransactionId() };
    if REGISTERED_FOR.with(|registered| registered.replace(xid)) == xid {
        return;
    }
    pgrx::register_xact_callback(pgrx::PgXactCallbackEvent::PreCommit, || {
        // SAFETY: pg_notify takes two text arguments; both are given. Before commit a
        // notification is only queued, and an error here still aborts cleanly.
        unsafe {
            pgrx::direct_function_call::<()>(
                pg_sys::pg_notify,
                &["chronicle_export".into_datum(), "".into_datum()],
            );
        }
    });
}
