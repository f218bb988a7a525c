//! What a state write or deletion adds to the Gist export queue, in the same transaction,
//! so that no committed version can be missed by the exporter. On Citus the export goes
//! to the outbox beside the entity instead, and a claim moves it into the queue
//! (`outbox`, docs/export-queue.md#on-citus).

use pgrx::datum::{DatumWithOid, TimestampWithTimeZone};
use pgrx::pg_sys;
use pgrx::prelude::*;
use pgrx::spi::SpiClient;
use serde_json::Value;

use crate::export::outbox;
use crate::export::targets::GistTarget;
use crate::plan_cache::Statement;

/// The parameters of both enqueueing statements: gist id, file name, operation, entity
/// type, entity id, version, checksum, payload, mode.
pub const PARAMS: [pg_sys::Oid; 9] = [
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

/// Queues a change of an entity's Gist file, made at `changed_at`, and wakes exporters
/// at commit.
pub fn enqueue(
    client: &mut SpiClient<'_>,
    target: &GistTarget,
    entity_type: &str,
    entity_id: &str,
    change: FileChange<'_>,
    changed_at: TimestampWithTimeZone,
) {
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
    if crate::scale_out::state_is_distributed(client) {
        outbox::add(client, args, changed_at);
    } else {
        add_to_queue(client, &args);
    }
    notify_exporters();
}

/// Adds an export to the queue; `args` are the statements' parameters ([`PARAMS`]).
///
/// The two statements are the queue's, in `sql/export_queue/`: the export goes in as its
/// file's head, or behind the head when the file has one. Why that keeps one export per
/// file in flight, in order, without stranding any, is in docs/export-queue.md.
pub fn add_to_queue(client: &mut SpiClient<'_>, args: &[DatumWithOid<'_>]) {
    static AS_HEAD: Statement = Statement {
        sql: include_str!("../../sql/export_queue/enqueue_as_head.sql"),
        params: &PARAMS,
    };
    static BEHIND_HEAD: Statement = Statement {
        sql: include_str!("../../sql/export_queue/enqueue_behind_head.sql"),
        params: &PARAMS,
    };
    if AS_HEAD.run(client, args).is_empty() {
        BEHIND_HEAD.run(client, args);
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
