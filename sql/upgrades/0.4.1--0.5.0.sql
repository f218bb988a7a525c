-- pg_chronicle 0.4.1 -> 0.5.0: state schemas. Every change of a fresh 0.5.0 install,
-- applied to a 0.4.1 database; tests/integration/upgrade.sh checks that the result is
-- exactly a fresh install. The tables are written as 0.5.0 created them: a later change
-- to one comes as a change in a later step.
\echo Use "ALTER EXTENSION pg_chronicle UPDATE TO '0.5.0'" to load this file. \quit

-- Each state version records the schema version it was validated against.
ALTER TABLE chronicle.state_versions ADD COLUMN schema_version integer;
COMMENT ON COLUMN chronicle.state_versions.schema_version IS 'Version of the entity type''s schema (chronicle.state_schemas) this state was validated against; NULL when the type had none';

CREATE OR REPLACE VIEW chronicle.state_store AS
SELECT v.id, v.entity_type, v.entity_id, v.state, v.version, v.valid_from,
       coalesce(d.deleted_at, n.valid_from) AS valid_to,
       v.created_by, v.command_id, v.checksum, v.schema_version
  FROM chronicle.state_versions v
  LEFT JOIN chronicle.state_versions n
         ON n.entity_type = v.entity_type AND n.entity_id = v.entity_id AND n.version = v.version + 1
  LEFT JOIN chronicle.state_deletions d
         ON d.entity_type = v.entity_type AND d.entity_id = v.entity_id AND d.version = v.version;

ALTER VIEW chronicle.state_store ALTER COLUMN created_by SET DEFAULT chronicle.current_user_id();
COMMENT ON COLUMN chronicle.state_store.schema_version IS 'Version of the entity type''s schema this state was validated against (chronicle.state_schemas); NULL when none; assigned by the database';

-- state_as_of reads state_versions.*, which now has one more column.
CREATE OR REPLACE FUNCTION chronicle.state_as_of(entity_type text, entity_id text, at timestamptz)
RETURNS jsonb
LANGUAGE sql STABLE STRICT PARALLEL SAFE
BEGIN ATOMIC
  SELECT v.state
    FROM (SELECT * FROM chronicle.state_versions s
           WHERE s.entity_type = state_as_of.entity_type AND s.entity_id = state_as_of.entity_id
             AND s.valid_from <= state_as_of.at
           ORDER BY s.version DESC
           LIMIT 1) v
   WHERE NOT EXISTS (SELECT FROM chronicle.state_deletions d
                      WHERE d.entity_type = v.entity_type AND d.entity_id = v.entity_id
                        AND d.version = v.version AND d.deleted_at <= state_as_of.at);
END;

-- state_history returns the schema version too: a new result type. Rights other roles
-- were granted on it are not kept; the administrators' are granted again below.
DROP FUNCTION chronicle.state_history(text, text);
CREATE FUNCTION chronicle.state_history(entity_type text, entity_id text)
RETURNS TABLE (
    version integer, valid_from timestamptz, valid_to timestamptz, state jsonb,
    checksum text, command_id uuid, created_by uuid, schema_version integer)
LANGUAGE sql STABLE STRICT PARALLEL SAFE
BEGIN ATOMIC
  SELECT s.version, s.valid_from, s.valid_to, s.state, s.checksum, s.command_id, s.created_by, s.schema_version
    FROM chronicle.state_store s
   WHERE s.entity_type = state_history.entity_type AND s.entity_id = state_history.entity_id
   ORDER BY s.version;
END;
COMMENT ON FUNCTION chronicle.state_history(text, text) IS
  'Every version of an entity, oldest first, with its validity period, checksum, command, author and the schema version it was validated against';

-- The schemas (sql/state_schemas.sql).
CREATE TABLE chronicle.state_schemas (
    entity_type    text        NOT NULL,
    schema_version integer     NOT NULL,
    schema         jsonb,
    mode           text        NOT NULL,
    set_at         timestamptz NOT NULL,
    set_by         uuid,
    set_by_role    text        NOT NULL,
    CONSTRAINT state_schemas_pkey PRIMARY KEY (entity_type, schema_version),
    CONSTRAINT state_schemas_mode_check CHECK (mode IN ('enforce', 'warn', 'dropped')),
    CONSTRAINT state_schemas_dropped_check CHECK ((mode = 'dropped') = (schema IS NULL))
);

COMMENT ON TABLE chronicle.state_schemas IS
  'Every JSON Schema set on an entity type, in order: written by chronicle.set_state_schema and chronicle.drop_state_schema, never changed';
COMMENT ON COLUMN chronicle.state_schemas.schema_version IS 'Version of the entity type''s schema, 1..n with no gap; state versions refer to it';
COMMENT ON COLUMN chronicle.state_schemas.schema IS 'The JSON Schema (draft 2020-12, or 7 when its $schema says so); NULL when this version drops the schema';
COMMENT ON COLUMN chronicle.state_schemas.mode IS 'enforce (a write that does not validate is refused), warn (it is written and recorded in chronicle.state_schema_violations) or dropped';
COMMENT ON COLUMN chronicle.state_schemas.set_at IS 'When this schema version was set';
COMMENT ON COLUMN chronicle.state_schemas.set_by IS 'User who set it (chronicle.current_user_id()), if known';
COMMENT ON COLUMN chronicle.state_schemas.set_by_role IS 'Database role that set it';

CREATE VIEW chronicle.current_state_schemas AS
SELECT DISTINCT ON (s.entity_type) s.entity_type, s.schema_version, s.schema, s.mode, s.set_at, s.set_by, s.set_by_role
  FROM chronicle.state_schemas s
 ORDER BY s.entity_type, s.schema_version DESC;

COMMENT ON VIEW chronicle.current_state_schemas IS
  'The schema in force for each entity type that has had one (mode dropped: none any more)';

-- Versions written in warn mode that did not validate, with what was wrong.
CREATE TABLE chronicle.state_schema_violations (
    entity_type    text        NOT NULL,
    entity_id      text        NOT NULL,
    version        integer     NOT NULL,
    schema_version integer     NOT NULL,
    violations     jsonb       NOT NULL,
    recorded_at    timestamptz NOT NULL,
    CONSTRAINT state_schema_violations_pkey PRIMARY KEY (entity_type, entity_id, version)
);

COMMENT ON TABLE chronicle.state_schema_violations IS
  'State versions written under a warn-mode schema that did not validate; delete rows once dealt with';
COMMENT ON COLUMN chronicle.state_schema_violations.violations IS
  'Up to 20 violations: [{"path": JSON Pointer in the state, "keyword", "schema_path", "message"}]';

SELECT pg_catalog.pg_extension_config_dump('chronicle.state_schemas', '');
SELECT pg_catalog.pg_extension_config_dump('chronicle.state_schema_violations', '');

CREATE FUNCTION chronicle.drop_state_schema(
	"entity_type" TEXT
) RETURNS bool
SECURITY DEFINER
SET search_path TO pg_catalog, pg_temp
LANGUAGE c
AS 'MODULE_PATHNAME', 'drop_state_schema_wrapper';

CREATE FUNCTION chronicle.json_schema_violations(
	"schema" jsonb,
	"document" jsonb
) RETURNS jsonb
IMMUTABLE STRICT PARALLEL SAFE
SET search_path TO pg_catalog, pg_temp
LANGUAGE c
AS 'MODULE_PATHNAME', 'json_schema_violations_wrapper';

CREATE FUNCTION chronicle.set_state_schema(
	"entity_type" TEXT,
	"schema" jsonb,
	"mode" TEXT DEFAULT 'enforce'
) RETURNS INT
SECURITY DEFINER
SET search_path TO pg_catalog, pg_temp
LANGUAGE c
AS 'MODULE_PATHNAME', 'set_state_schema_wrapper';

CREATE FUNCTION chronicle.validate_states(
	"entity_type" TEXT,
	"schema" jsonb DEFAULT NULL
) RETURNS TABLE (
	"entity_id" TEXT,
	"version" INT,
	"violations" jsonb
)
SET search_path TO pg_catalog, pg_temp
LANGUAGE c
AS 'MODULE_PATHNAME', 'validate_states_wrapper';

COMMENT ON FUNCTION chronicle.set_state_schema(text, jsonb, text) IS
  'Attaches a JSON Schema (2020-12, or 7 by $schema) to an entity type: mode enforce refuses writes that do not validate (23514), warn writes and records them; returns the schema version';
COMMENT ON FUNCTION chronicle.drop_state_schema(text) IS
  'Removes an entity type''s schema (recorded as a new schema version); false if it had none';
COMMENT ON FUNCTION chronicle.validate_states(text, jsonb) IS
  'Dry run: the current states of an entity type that fail its schema (or the schema given), with up to 20 violations each';
COMMENT ON FUNCTION chronicle.json_schema_violations(jsonb, jsonb) IS
  'Violations of a JSON document against a JSON Schema (empty array: valid), up to 20; compiles the schema on each call';

-- Privileges as a fresh install grants them (sql/finalize.sql): nothing to PUBLIC but
-- the pure json_schema_violations; to each administrator (the roles holding EXECUTE on
-- put_state and SELECT on the state storage, in the order they were granted), the same.
REVOKE ALL ON chronicle.state_schemas, chronicle.current_state_schemas, chronicle.state_schema_violations FROM PUBLIC;
REVOKE ALL ON FUNCTION chronicle.state_history(text, text), chronicle.set_state_schema(text, jsonb, text),
    chronicle.drop_state_schema(text), chronicle.validate_states(text, jsonb),
    chronicle.json_schema_violations(jsonb, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION chronicle.json_schema_violations(jsonb, jsonb) TO PUBLIC;

DO $$
DECLARE
  admin record;
BEGIN
  FOR admin IN
    SELECT quote_ident(e.grantee::regrole::text) AS role,
           CASE WHEN e.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END AS option
      FROM pg_catalog.pg_class c, pg_catalog.aclexplode(c.relacl) WITH ORDINALITY AS e(grantor, grantee, privilege_type, is_grantable, n)
     WHERE c.oid = 'chronicle.state_versions'::regclass AND e.privilege_type = 'SELECT'
       AND e.grantee <> c.relowner AND e.grantee <> 0
     ORDER BY e.n
  LOOP
    EXECUTE format('GRANT SELECT ON chronicle.state_schemas, chronicle.current_state_schemas, '
                   'chronicle.state_schema_violations TO %s', admin.role) || admin.option;
  END LOOP;
  FOR admin IN
    SELECT quote_ident(e.grantee::regrole::text) AS role,
           CASE WHEN e.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END AS option
      FROM pg_catalog.pg_proc p, pg_catalog.aclexplode(p.proacl) WITH ORDINALITY AS e(grantor, grantee, privilege_type, is_grantable, n)
     WHERE p.oid = 'chronicle.put_state(text, text, jsonb, integer, uuid)'::regprocedure
       AND e.grantee <> p.proowner AND e.grantee <> 0
     ORDER BY e.n
  LOOP
    EXECUTE format('GRANT EXECUTE ON FUNCTION chronicle.state_history(text, text), '
                   'chronicle.set_state_schema(text, jsonb, text), chronicle.drop_state_schema(text), '
                   'chronicle.validate_states(text, jsonb), chronicle.json_schema_violations(jsonb, jsonb) TO %s',
                   admin.role) || admin.option;
  END LOOP;
END
$$;
