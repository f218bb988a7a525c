-- State schemas: a JSON Schema per entity type that the database checks on every write.
BEGIN;

-- The error, with its DETAIL (the full list of violations).
CREATE FUNCTION regress.error_with_detail(statement text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
  detail text;
BEGIN
  EXECUTE statement;
  RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
  GET STACKED DIAGNOSTICS detail = PG_EXCEPTION_DETAIL;
  RETURN SQLSTATE || ': ' || SQLERRM || E'\nDETAIL: ' || coalesce(detail, '');
END
$$;

-- A schema for the entity type "config". The schema is versioned: this is version 1.
SELECT chronicle.set_state_schema('config', '{
  "type": "object",
  "properties": {
    "name": {"type": "string", "minLength": 1},
    "max_parallel": {"type": "integer", "minimum": 1, "maximum": 64},
    "tags": {"type": "array", "items": {"type": "string"}, "uniqueItems": true}
  },
  "required": ["name"],
  "additionalProperties": false
}');

-- A state that validates is written, and records the schema version it was checked against.
SELECT chronicle.put_state('config', 'app', '{"name": "app", "max_parallel": 4}');
SELECT version, schema_version FROM chronicle.state_history('config', 'app');

-- One that does not is refused with 23514: the message names the entity, the JSON Pointer
-- of the value, what is wrong and where in the schema; DETAIL lists every violation.
SELECT regress.error_with_detail($$SELECT chronicle.put_state('config', 'app', '{"name": "app", "max_parallel": 0}')$$);
SELECT regress.error_with_detail($$SELECT chronicle.put_state('config', 'app', '{"max_parallel": 99, "tags": ["a", "a"], "debug": true}')$$);

-- Nothing was written and no version number was used.
SELECT chronicle.state_version('config', 'app');
SELECT chronicle.put_state('config', 'app', '{"name": "app", "max_parallel": 8}');

-- Every writer gets the same check: a merge patch (checked on its result), an
-- INSERT into the view, a Gist import (and a revert, below).
SELECT regress.error_of($$SELECT chronicle.patch_state('config', 'app', '{"max_parallel": "eight"}')$$);
SELECT chronicle.patch_state('config', 'app', '{"tags": ["prod"]}');
SELECT regress.error_of($$INSERT INTO chronicle.state_store (entity_type, entity_id, state) VALUES ('config', 'other', '{}')$$);
INSERT INTO chronicle.state_store (entity_type, entity_id, state) VALUES ('config', 'other', '{"name": "other"}')
RETURNING version, schema_version;
SELECT regress.error_of($$SELECT chronicle.import_state_version('config', 'imported', '[]', now() - interval '1 hour', 'g1', 'r1', 'config.imported.json')$$);

-- Other entity types are not affected.
SELECT chronicle.put_state('notes', 'n1', '"free text"');

-- A stricter schema, version 2. The dry run first: the current states that would fail it.
SELECT * FROM chronicle.validate_states('config', '{"type": "object", "required": ["name", "owner"]}');
-- Without a schema argument it checks against the schema in force (all pass).
SELECT * FROM chronicle.validate_states('config');

-- "warn" introduces a schema on live data: writes that do not validate are written, and
-- what was wrong is recorded for an operator.
SELECT chronicle.set_state_schema('config', '{"type": "object", "required": ["name", "owner"]}', 'warn');
SELECT chronicle.put_state('config', 'app', '{"name": "app", "max_parallel": 2}');
SELECT entity_id, version, schema_version, violations FROM chronicle.state_schema_violations;
SELECT chronicle.put_state('config', 'app', '{"name": "app", "owner": "ops"}');
SELECT count(*) AS recorded_violations FROM chronicle.state_schema_violations;

-- Setting the same schema and mode again changes nothing; the mode alone makes a version.
SELECT chronicle.set_state_schema('config', '{"type": "object", "required": ["name", "owner"]}', 'warn');
SELECT chronicle.set_state_schema('config', '{"type": "object", "required": ["name", "owner"]}');
SELECT regress.error_of($$SELECT chronicle.put_state('config', 'other', '{"name": "other", "v": 2}')$$);
-- A revert writes an old state again, so it meets today's schema: version 1 had no owner.
SELECT regress.error_of($$SELECT chronicle.revert_state('config', 'app', 1)$$);

-- The history of the type's schemas, and of the entity with the schema each version met.
SELECT schema_version, mode, schema IS NOT NULL AS has_schema, set_by_role = current_user AS set_by_me
  FROM chronicle.state_schemas WHERE entity_type = 'config' ORDER BY schema_version;
SELECT entity_type, schema_version, mode FROM chronicle.current_state_schemas;
SELECT version, state, schema_version FROM chronicle.state_history('config', 'app');

-- Dropping: a new version of the history; writes are free again. Dropping twice: false.
SELECT chronicle.drop_state_schema('config');
SELECT chronicle.drop_state_schema('config');
SELECT chronicle.drop_state_schema('never_had_one');
SELECT chronicle.put_state('config', 'other', '{"anything": true}');
SELECT version, schema_version FROM chronicle.state_history('config', 'other');
SELECT schema_version, mode FROM chronicle.current_state_schemas WHERE entity_type = 'config';

-- Draft 7 where the schema says so.
SELECT chronicle.set_state_schema('legacy', '{"$schema": "http://json-schema.org/draft-07/schema#", "dependencies": {"a": ["b"]}}');
SELECT regress.error_of($$SELECT chronicle.put_state('legacy', 'x', '{"a": 1}')$$);
SELECT chronicle.put_state('legacy', 'x', '{"a": 1, "b": 2}');

-- The same validation for a value of your own (a CHECK constraint, an ad-hoc check).
SELECT chronicle.json_schema_violations('{"type": "integer", "minimum": 1}', '0');
SELECT chronicle.json_schema_violations('{"type": "integer", "minimum": 1}', '5');

-- Every error.
-- A malformed schema, an unknown draft, a remote reference, bad names and modes: 22023.
SELECT regress.error_of($$SELECT chronicle.set_state_schema('config', '{"type": "strnig"}')$$);
SELECT regress.error_of($$SELECT chronicle.set_state_schema('config', '{"properties": {"n": {"minimum": "one"}}}')$$);
SELECT regress.error_of($$SELECT chronicle.set_state_schema('config', '{"$schema": "http://json-schema.org/draft-04/schema#"}')$$);
SELECT regress.error_of($$SELECT chronicle.set_state_schema('config', '{"$ref": "https://example.com/schema.json"}')$$);
SELECT regress.error_of($$SELECT chronicle.set_state_schema('config', '"not a schema"')$$);
SELECT regress.error_of($$SELECT chronicle.set_state_schema('config', '{"pattern": "(a)\\1"}')$$);
SELECT regress.error_of($$SELECT chronicle.set_state_schema('config', '{}', 'strict')$$);
SELECT regress.error_of($$SELECT chronicle.set_state_schema('config', '{}', NULL)$$);
SELECT regress.error_of($$SELECT chronicle.set_state_schema('config', NULL)$$);
SELECT regress.error_of($$SELECT chronicle.set_state_schema('', '{}')$$);
SELECT regress.error_of($$SELECT chronicle.set_state_schema(repeat('t', 101), '{}')$$);
SELECT regress.error_of($$SELECT chronicle.validate_states('config')$$);
SELECT regress.error_of($$SELECT chronicle.json_schema_violations('{"type": 1}', '1')$$);
-- Past the bounds: a schema nested deeper than 64 levels, or larger than 512 kB (54000).
SELECT regress.error_of(format($$SELECT chronicle.set_state_schema('config', %L)$$,
  repeat('{"not": ', 70) || '{}' || repeat('}', 70)));
SELECT regress.error_of(format($$SELECT chronicle.set_state_schema('config', %L)$$,
  jsonb_build_object('enum', (SELECT jsonb_agg(repeat('x', 1000)) FROM generate_series(1, 600)))));
-- None of those changed the schemas.
SELECT count(*) AS schema_versions FROM chronicle.state_schemas;
ROLLBACK;
