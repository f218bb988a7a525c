-- Enqueueing, step 1 (run by the state store's write path, src/export/enqueue.rs, with
-- kept plans; docs/export-queue.md explains the protocol): the export as its file's head,
-- or, in latest mode, the new content of a pending head with nothing behind it. Returns no
-- row when the file's head stays as it was: the unique index on heads has then locked it,
-- and step 2 (enqueue_behind_head.sql) queues the export behind it.
-- $1 gist id, $2 file name, $3 operation, $4 entity type, $5 entity id, $6 version,
-- $7 checksum, $8 payload, $9 mode.
INSERT INTO chronicle.gist_export_queue AS q
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
RETURNING q.id
