-- The original schema's state_store and its PL/pgSQL versioning trigger, verbatim but for the
-- references to auth.users and command_executions (absent here) and the table name.
-- It is the anchor the versioned state store is measured against.
CREATE TABLE seed_state_store (
  id UUID DEFAULT gen_random_uuid() PRIMARY KEY,
  entity_type VARCHAR(100) NOT NULL,
  entity_id VARCHAR(255) NOT NULL,
  state JSONB NOT NULL,
  version INTEGER NOT NULL DEFAULT 1,
  valid_from TIMESTAMPTZ DEFAULT NOW(),
  valid_to TIMESTAMPTZ,
  created_by UUID,
  command_id UUID,
  CONSTRAINT unique_current_state
    UNIQUE (entity_type, entity_id, valid_to)
);

CREATE OR REPLACE FUNCTION update_state_version()
RETURNS TRIGGER AS $$
BEGIN
  UPDATE seed_state_store
  SET valid_to = NOW()
  WHERE entity_type = NEW.entity_type
    AND entity_id = NEW.entity_id
    AND valid_to IS NULL;

  NEW.version = COALESCE(
    (SELECT MAX(version) + 1
     FROM seed_state_store
     WHERE entity_type = NEW.entity_type
       AND entity_id = NEW.entity_id),
    1
  );

  RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER before_state_insert
  BEFORE INSERT ON seed_state_store
  FOR EACH ROW
  EXECUTE FUNCTION update_state_version();

-- The other anchor: a plain, unversioned upsert of the same documents.
CREATE TABLE plain_state (
  entity_type text NOT NULL,
  entity_id text NOT NULL,
  state jsonb NOT NULL,
  PRIMARY KEY (entity_type, entity_id)
);
