-- Exports delivered: an ack takes each one out of the queue (sql/export.sql) and records
-- it here, with the Gist revision that carries it. The queue then holds only the exports
-- still to deliver (and the dead ones), and an ack is a delete and an append, where it
-- was a rewrite of the whole row in place: the rewrite was the larger part of what an
-- exporter's cycle cost the server (measured, bench/README.md). What was delivered stays
-- here until prune_export_queue removes it, content included: export_redrive queues a
-- file's newest content again behind the dead exports it revives. export_stats reads the
-- drain rate here.
CREATE TABLE chronicle.gist_export_deliveries (
    id            bigint      NOT NULL,
    gist_id       text        NOT NULL,
    file_name     text        NOT NULL,
    operation     text        NOT NULL,
    mode          text        NOT NULL,
    entity_type   text        NOT NULL,
    entity_id     text        NOT NULL,
    version       integer     NOT NULL,
    checksum      text,
    payload       text,
    attempt       integer     NOT NULL,
    enqueued_at   timestamptz NOT NULL,
    gist_revision text        NOT NULL,
    delivered_at  timestamptz NOT NULL,
    CONSTRAINT gist_export_deliveries_pkey PRIMARY KEY (id)
);

-- What prune and export_stats read: rows are appended in the order they are delivered,
-- which a BRIN index summarises at almost no cost to the append.
CREATE INDEX gist_export_deliveries_delivered_at
    ON chronicle.gist_export_deliveries USING brin (delivered_at);

COMMENT ON TABLE chronicle.gist_export_deliveries IS
  'Exports a Gist exporter acknowledged, taken out of chronicle.gist_export_queue by export_ack/export_ack_all; kept until prune_export_queue';
COMMENT ON COLUMN chronicle.gist_export_deliveries.id IS 'The export''s id in the queue: a file''s exports were delivered in this order';
COMMENT ON COLUMN chronicle.gist_export_deliveries.attempt IS 'The claim that delivered it (1 for the first)';
COMMENT ON COLUMN chronicle.gist_export_deliveries.enqueued_at IS 'When its content was last queued (a newer version replacing a pending one resets it)';
COMMENT ON COLUMN chronicle.gist_export_deliveries.gist_revision IS 'The Gist revision that carries this export';
COMMENT ON COLUMN chronicle.gist_export_deliveries.delivered_at IS 'When it was acknowledged';
