-- The export outbox: where a state write queues its export when the state store is
-- distributed on Citus (chronicle.distribute(), docs/citus.md). A write then runs on the
-- worker that holds the entity, and the queue (sql/export.sql) stays on the coordinator,
-- where exporters claim from it with FOR UPDATE SKIP LOCKED, which Citus does not run over
-- shards. So the write adds its export here, distributed like the entity, in its own
-- transaction; export_claim moves what has committed into the queue, in the order of
-- the changes (docs/export-queue.md#on-citus). On one server the table stays empty.
CREATE TABLE chronicle.gist_export_outbox (
    entity_type text        NOT NULL,
    entity_id   text        NOT NULL,
    version     integer     NOT NULL,
    operation   text        NOT NULL,
    changed_at  timestamptz NOT NULL,
    gist_id     text        NOT NULL,
    file_name   text        NOT NULL,
    mode        text        NOT NULL,
    checksum    text,
    payload     text,
    CONSTRAINT gist_export_outbox_pkey PRIMARY KEY (entity_type, entity_id, version, operation),
    CONSTRAINT gist_export_outbox_operation_check CHECK (operation IN ('write', 'remove')),
    CONSTRAINT gist_export_outbox_payload_check CHECK ((operation = 'write') = (payload IS NOT NULL))
);

COMMENT ON TABLE chronicle.gist_export_outbox IS
  'On Citus: exports written on the workers with the states, moved into chronicle.gist_export_queue by export_claim on the coordinator; empty on one server';
COMMENT ON COLUMN chronicle.gist_export_outbox.changed_at IS
  'valid_from of the version written, or the time of the deletion: the order in which exports enter the queue';
COMMENT ON COLUMN chronicle.gist_export_outbox.file_name IS
  'The Gist file, named by the entity type''s target when the change was written';
