-- The Gist export queue: which entity types go to which Gist, and the queue the state
-- store fills in the same transaction as each write. How the queue works (heads, waiting
-- exports, leases, coalescing, backoff, dead rows) is in docs/export-queue.md; the
-- statements that enqueue are in sql/export_queue/, the claim/ack/fail functions in
-- sql/export_queue.sql.

CREATE TABLE chronicle.gist_targets (
    entity_type       text        NOT NULL,
    gist_id           text        NOT NULL,
    filename_template text        NOT NULL DEFAULT '{entity_type}.{entity_id}.json',
    mode              text        NOT NULL DEFAULT 'latest',
    enabled           boolean     NOT NULL DEFAULT true,
    updated_at        timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT gist_targets_pkey PRIMARY KEY (entity_type),
    CONSTRAINT gist_targets_mode_check CHECK (mode IN ('latest', 'every_version')),
    CONSTRAINT gist_targets_gist_id_check CHECK (gist_id ~ '^[0-9A-Za-z]{1,100}$')
);

COMMENT ON TABLE chronicle.gist_targets IS
  'Which entity types are exported to which GitHub Gist; set with chronicle.set_gist_target';
COMMENT ON COLUMN chronicle.gist_targets.filename_template IS
  'Gist file name of an entity: {entity_type} and {entity_id} are replaced; Gist file names are flat, so no /';
COMMENT ON COLUMN chronicle.gist_targets.mode IS
  'latest: a new version replaces a still-pending export of the same file; every_version: each version becomes its own Gist revision';
COMMENT ON COLUMN chronicle.gist_targets.enabled IS 'Whether new versions are enqueued';

-- One row per export; a file's oldest unfinished export is its head and the others wait
-- behind it (docs/export-queue.md).
--
-- The indexes look at stage, not status: a claim (pending -> in_flight), a release or a
-- retry (in_flight -> pending) and a newer version replacing a pending payload leave the
-- stage as it was, so PostgreSQL rewrites the row in place (a HOT update) instead of
-- adding an entry to every index. fillfactor 50 keeps room on each page for the new
-- versions of the rows a claim takes together (measured: at 70 only about half the
-- claims stayed HOT). An ack deletes the row (sql/export_deliveries.sql), and autovacuum
-- runs on a fixed number of dead rows rather than a fraction of a table that stays small.
CREATE TABLE chronicle.gist_export_queue (
    id               bigint      GENERATED ALWAYS AS IDENTITY,
    gist_id          text        NOT NULL,
    file_name        text        NOT NULL,
    operation        text        NOT NULL,
    mode             text        NOT NULL,
    entity_type      text        NOT NULL,
    entity_id        text        NOT NULL,
    version          integer     NOT NULL,
    checksum         text,
    payload          text,
    status           text        NOT NULL DEFAULT 'pending',
    attempt          integer     NOT NULL DEFAULT 0,
    available_at     timestamptz NOT NULL DEFAULT now(),
    lease_token      uuid,
    lease_expires_at timestamptz,
    last_error       text,
    enqueued_at      timestamptz NOT NULL DEFAULT now(),
    stage            text        NOT NULL GENERATED ALWAYS AS (
                         CASE WHEN status IN ('pending', 'in_flight') THEN 'head'
                              WHEN status = 'waiting' THEN 'waiting'
                              ELSE 'finished' END) STORED,
    has_waiting      boolean     NOT NULL DEFAULT false,
    CONSTRAINT gist_export_queue_pkey PRIMARY KEY (id),
    CONSTRAINT gist_export_queue_operation_check CHECK (operation IN ('write', 'remove')),
    CONSTRAINT gist_export_queue_status_check CHECK (status IN ('waiting', 'pending', 'in_flight', 'dead')),
    CONSTRAINT gist_export_queue_payload_check CHECK ((operation = 'write') = (payload IS NOT NULL))
) WITH (
    fillfactor = 50,
    autovacuum_vacuum_scale_factor = 0,
    autovacuum_vacuum_threshold = 2000,
    autovacuum_vacuum_cost_delay = 0,
    autovacuum_analyze_scale_factor = 0.05
);

-- What claim reads, in id order: the heads, claimable when pending, or in flight under a
-- lease that expired.
CREATE INDEX gist_export_queue_claimable
    ON chronicle.gist_export_queue (id)
    WHERE stage = 'head';

-- One head per file, enforced. Enqueueing inserts a new export as its file's head and,
-- on conflict with the head there is, locks that head and puts the export behind it; in
-- latest mode a pending head takes the new content instead (INSERT ... ON CONFLICT on
-- this index).
CREATE UNIQUE INDEX gist_export_queue_head
    ON chronicle.gist_export_queue (gist_id, file_name)
    WHERE stage = 'head';

-- The exports waiting behind each file's head, in order: the next head, and in latest
-- mode the one waiting export that a newer version replaces.
CREATE INDEX gist_export_queue_waiting
    ON chronicle.gist_export_queue (gist_id, file_name, id)
    WHERE stage = 'waiting';

COMMENT ON TABLE chronicle.gist_export_queue IS
  'Exports waiting for, or handed to, a Gist exporter (chronicle-gist), and dead ones; filled in the same transaction as each state write, consumed through export_claim/export_ack/export_fail (an ack moves the export to chronicle.gist_export_deliveries)';
COMMENT ON COLUMN chronicle.gist_export_queue.operation IS 'write: set the file to payload; remove: delete the file (the entity was deleted)';
COMMENT ON COLUMN chronicle.gist_export_queue.payload IS 'The file content: the state as indented JSON; NULL for remove';
COMMENT ON COLUMN chronicle.gist_export_queue.status IS
  'waiting (behind an unfinished export of its file), pending (its file''s head, claimable), in_flight (claimed under a lease) or dead (out of attempts)';
COMMENT ON COLUMN chronicle.gist_export_queue.attempt IS 'How many times the row was claimed and not released';
COMMENT ON COLUMN chronicle.gist_export_queue.available_at IS 'Not claimable before this time (backoff after a failure, or Retry-After)';
COMMENT ON COLUMN chronicle.gist_export_queue.lease_token IS 'Token of the current claim; ack and fail must present it';
COMMENT ON COLUMN chronicle.gist_export_queue.lease_expires_at IS 'When an in-flight row becomes claimable again';
COMMENT ON COLUMN chronicle.gist_export_queue.has_waiting IS
  'On a head: whether an export may be waiting behind it (set by whoever queues one there), so that finishing a head with none skips looking for the next';
COMMENT ON COLUMN chronicle.gist_export_queue.stage IS
  'Derived from status: head (pending or in_flight), waiting, or finished (dead); what the indexes look at, so that claims update rows in place';

COMMENT ON SEQUENCE chronicle.gist_export_queue_id_seq IS 'Numbers the exports: a file''s exports leave in this order';

-- Versions imported from a Gist (chronicle-gist import): re-running an import skips them.
CREATE TABLE chronicle.gist_imports (
    gist_id       text        NOT NULL,
    gist_revision text        NOT NULL,
    file_name     text        NOT NULL,
    entity_type   text        NOT NULL,
    entity_id     text        NOT NULL,
    version       integer     NOT NULL,
    imported_at   timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT gist_imports_pkey PRIMARY KEY (gist_id, gist_revision, file_name)
);

COMMENT ON TABLE chronicle.gist_imports IS
  'Gist file revisions loaded into chronicle.state_store by chronicle.import_state_version, and the version each became';
