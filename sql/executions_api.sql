-- The command execution functions and the lifecycle trigger. They run as the caller, so
-- row-level security applies: a user starts, finishes and records their own executions.
--
-- Every definition here can run again (CREATE OR REPLACE): an upgrade step includes this
-- file whole (sql/upgrades/) instead of copying it.

CREATE OR REPLACE TRIGGER command_executions_lifecycle
    BEFORE INSERT OR UPDATE ON chronicle.command_executions
    FOR EACH ROW EXECUTE FUNCTION chronicle.command_executions_lifecycle();

CREATE OR REPLACE FUNCTION chronicle.start_command(
    command_name text, parameters jsonb DEFAULT '{}', user_id uuid DEFAULT NULL, metadata jsonb DEFAULT NULL)
RETURNS uuid
LANGUAGE sql VOLATILE
BEGIN ATOMIC
  INSERT INTO chronicle.command_executions (command_name, parameters, user_id, metadata, status)
  VALUES (start_command.command_name, coalesce(start_command.parameters, '{}'),
          coalesce(start_command.user_id, chronicle.current_user_id()), start_command.metadata, 'running')
  RETURNING id;
END;

CREATE OR REPLACE FUNCTION chronicle.finish_command(id uuid, status text, error jsonb DEFAULT NULL)
RETURNS chronicle.command_executions
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  finished chronicle.command_executions;
BEGIN
  IF finish_command.status IS NULL OR finish_command.status NOT IN ('success', 'failed') THEN
    RAISE EXCEPTION 'an execution finishes as success or failed, not %', coalesce(quote_literal(finish_command.status), 'NULL')
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  UPDATE chronicle.command_executions e
     SET status = finish_command.status, error = coalesce(finish_command.error, e.error)
   WHERE e.id = finish_command.id
  RETURNING e.* INTO finished;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'no command execution %', coalesce(finish_command.id::text, 'NULL')
      USING ERRCODE = 'no_data_found',
            HINT = 'It does not exist, or row-level security hides it from this user.';
  END IF;
  RETURN finished;
END
$$;

CREATE OR REPLACE FUNCTION chronicle.record_command(
    command_name text, parameters jsonb DEFAULT '{}', user_id uuid DEFAULT NULL,
    status text DEFAULT 'success', duration_ms double precision DEFAULT NULL,
    error jsonb DEFAULT NULL, metadata jsonb DEFAULT NULL)
RETURNS uuid
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  recorded uuid;
  finished_at timestamptz := clock_timestamp();
BEGIN
  IF record_command.status IS NULL OR record_command.status NOT IN ('success', 'failed') THEN
    RAISE EXCEPTION 'record_command records a finished execution: status must be success or failed, not %',
      coalesce(quote_literal(record_command.status), 'NULL')
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF record_command.duration_ms < 0 OR record_command.duration_ms IN ('NaN', 'Infinity') THEN
    RAISE EXCEPTION 'duration_ms must be a finite, non-negative number of milliseconds, not %', record_command.duration_ms
      USING ERRCODE = 'numeric_value_out_of_range';
  END IF;
  -- Executions carry times from 1970 on (see the lifecycle trigger).
  IF record_command.duration_ms > extract(epoch FROM finished_at - timestamptz '1970-01-01 00:00+00') * 1000 THEN
    RAISE EXCEPTION 'duration_ms % would start the execution before 1970-01-01, the earliest time an execution may carry',
      record_command.duration_ms
      USING ERRCODE = 'datetime_field_overflow';
  END IF;
  INSERT INTO chronicle.command_executions
         (command_name, parameters, user_id, status, started_at, completed_at, duration_ms, error, metadata)
  VALUES (record_command.command_name, coalesce(record_command.parameters, '{}'),
          coalesce(record_command.user_id, chronicle.current_user_id()), record_command.status,
          finished_at - make_interval(secs => coalesce(record_command.duration_ms, 0) / 1000),
          finished_at, record_command.duration_ms, record_command.error, record_command.metadata)
  RETURNING id INTO recorded;
  RETURN recorded;
END
$$;

COMMENT ON FUNCTION chronicle.start_command(text, jsonb, uuid, jsonb) IS
  'Records a running command execution for the given user (default: the acting user); returns its id';
COMMENT ON FUNCTION chronicle.finish_command(uuid, text, jsonb) IS
  'Finishes a command execution as success or failed; the database stamps completed_at and duration_ms';
COMMENT ON FUNCTION chronicle.record_command(text, jsonb, uuid, text, double precision, jsonb, jsonb) IS
  'Records an execution that already finished, in one call (duration_ms as measured by the caller); returns its id';
COMMENT ON FUNCTION chronicle.track(jsonb) IS
  'Records a RudderStack track call (command_executed, command_failed or hook_blocked) as a command execution; idempotent per messageId and sender; returns its id';
