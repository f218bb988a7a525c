-- State schemas: a JSON Schema per entity type that every write of that type is validated
-- against (src/state/schema.rs). Kept as a history, like the states themselves: each
-- set_state_schema or drop_state_schema appends a version, and each state version
-- records the schema version it was validated against.

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
  'State versions written under a warn-mode schema that did not validate, with what was wrong; administrators read it, only the extension''s owner deletes from it';
COMMENT ON COLUMN chronicle.state_schema_violations.violations IS
  'Up to 20 violations: [{"path": JSON Pointer in the state, "keyword", "schema_path", "message"}]';
