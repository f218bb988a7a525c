-- Objects every other part of pg_chronicle builds on. Runs first.

COMMENT ON SCHEMA chronicle IS
  'pg_chronicle: versioned JSONB state, command executions and metrics, and the Gist export queue';
