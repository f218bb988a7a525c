-- Creates the extension once for the whole suite, plus a helper the tests use to show
-- an error's SQLSTATE and message as a value.
CREATE EXTENSION pg_chronicle;
SELECT extname, extnamespace::regnamespace AS schema, extrelocatable
  FROM pg_extension WHERE extname = 'pg_chronicle';

CREATE SCHEMA regress;
CREATE FUNCTION regress.error_of(statement text) RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE statement;
  RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
  RETURN SQLSTATE || ': ' || SQLERRM;
END
$$;
-- The row-level security tests call it as other roles.
GRANT USAGE ON SCHEMA regress TO PUBLIC;

-- Every export, as a file's history: those still in the queue with their status, and the
-- delivered ones (an ack moves them to gist_export_deliveries) as done.
CREATE VIEW regress.exports AS
SELECT q.id, q.gist_id, q.file_name, q.operation, q.mode, q.entity_type, q.entity_id, q.version,
       q.checksum, q.payload, q.status, q.attempt, q.last_error, NULL::text AS gist_revision,
       NULL::timestamptz AS delivered_at
  FROM chronicle.gist_export_queue q
UNION ALL
SELECT d.id, d.gist_id, d.file_name, d.operation, d.mode, d.entity_type, d.entity_id, d.version,
       d.checksum, d.payload, 'done', d.attempt, NULL, d.gist_revision, d.delivered_at
  FROM chronicle.gist_export_deliveries d;
