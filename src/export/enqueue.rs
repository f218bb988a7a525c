//! What a state write or deletion adds to the Gist export queue, in the same transaction,
//! so that no committed version can be missed by the exporter.

use pgrx::pg_sys;
use pgrx::prelude::*;
use pgrx::spi::SpiClient;
use serde_json::Value;

use crate::export::targets::GistTarget;
use crate::plan_cache::Statement;

/// The change to a Gist file.
pub enum FileChange<'a> {
    /// The file becomes this version's state.
    Write { version: i32, checksum: &'a str, state: &'a Value },
    /// The entity was deleted at this version: the file goes.
    Remove { version: i32 },
}

/// Queues a change of an entity's Gist file and wakes exporters at commit.
///
/// In `latest` mode a still-pending export of the same file takes the new content
/// instead of a row being added (the unique index on pending latest rows makes this one
/// atomic statement); a row an exporter has claimed is never changed, so the change then
/// becomes a new row that waits behind it. In `every_version` mode every version is its
/// own row and so its own Gist revision.
pub fn enqueue(client: &mut SpiClient<'_>, target: &GistTarget, entity_type: &str, entity_id: &str, change: FileChange<'_>) {
    static LATEST: Statement = Statement {
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
    static EVERY_VERSION: Statement = Statement {
        sql: "INSERT INTO chronicle.gist_export_queue
                     (gist_id, file_name, operation, mode, entity_type, entity_id, version, checksum, payload)
              VALUES ($1, $2, $3, 'every_version', $4, $5, $6, $7, $8)",
        params: PARAMS,
    };
    const PARAMS: &[pg_sys::Oid] = &[
        pg_sys::TEXTOID,
        pg_sys::TEXTOID,
        pg_sys::TEXTOID,
        pg_sys::TEXTOID,
        pg_sys::TEXTOID,
        pg_sys::INT4OID,
        pg_sys::TEXTOID,
        pg_sys::TEXTOID,
    ];
    let file_name = target.file_name(entity_type, entity_id);
    let (operation, version, checksum, payload) = match change {
        FileChange::Write { version, checksum, state } => ("write", version, Some(checksum), Some(file_content(state))),
        FileChange::Remove { version } => ("remove", version, None, None),
    };
    let statement = if target.mode == "every_version" { &EVERY_VERSION } else { &LATEST };
    statement.run(
        client,
        &[
            target.gist_id.as_str().into(),
            file_name.as_str().into(),
            operation.into(),
            entity_type.into(),
            entity_id.into(),
            version.into(),
            checksum.into(),
            payload.into(),
        ],
    );
    notify_exporters();
}

/// The Gist file's content: the state as indented JSON, keys sorted, for people reading
/// the Gist; the exporter sends it as it is.
fn file_content(state: &Value) -> String {
    let mut text = serde_json::to_string_pretty(state).expect("a JSON value always serializes");
    text.push('\n');
    text
}

/// `NOTIFY chronicle_export` at commit. PostgreSQL folds identical notifications of one
/// transaction into one, so a transaction writing many versions wakes exporters once.
fn notify_exporters() {
    // SAFETY: pg_notify takes two text arguments; both are given.
    unsafe {
        pgrx::direct_function_call::<()>(
            pg_sys::pg_notify,
            &["chronicle_export".into_datum(), "".into_datum()],
        );
    }
}
