-- Objects every other part of pg_chronicle builds on. Runs first.

COMMENT ON SCHEMA chronicle IS
  'pg_chronicle: versioned JSONB state, command executions and metrics, and the Gist export queue';

-- Every text pg_chronicle reads and writes is JSON, which is Unicode: in a database of
-- another encoding, non-ASCII input would fail deep inside with a confusing error.
DO $$
BEGIN
  IF pg_catalog.getdatabaseencoding() <> 'UTF8' THEN
    RAISE EXCEPTION 'pg_chronicle needs a UTF8 database, and % is %',
      pg_catalog.current_database(), pg_catalog.getdatabaseencoding()
      USING ERRCODE = 'feature_not_supported',
            HINT = 'Create the database with ENCODING ''UTF8'' (and a UTF-8 locale, or TEMPLATE template0).';
  END IF;
END
$$;
