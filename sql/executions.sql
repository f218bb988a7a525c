-- Command executions: the command_executions table of the original command-tracking
-- schema, with the hook, chain and state metrics of its RudderStack events, the lifecycle
-- trigger (Rust, src/executions/), row-level security, and the warehouse-shaped
-- command_events view.

CREATE TABLE chronicle.command_executions (
    id                 uuid             NOT NULL DEFAULT gen_random_uuid(),
    command_name       text             NOT NULL,
    user_id            uuid,
    parameters         jsonb            NOT NULL DEFAULT '{}',
    status             text             NOT NULL DEFAULT 'pending',
    started_at         timestamptz      NOT NULL DEFAULT now(),
    completed_at       timestamptz,
    duration_ms        double precision,
    error              jsonb,
    metadata           jsonb,
    created_at         timestamptz      NOT NULL DEFAULT now(),
    updated_at         timestamptz      NOT NULL DEFAULT now(),
    -- The hook, chain and state metrics of the original command-tracking schema.
    command_category   text,
    hooks_executed     text[]           NOT NULL DEFAULT '{}',
    hooks_blocked      text[]           NOT NULL DEFAULT '{}',
    total_hook_time_ms double precision,
    chain_depth        integer          NOT NULL DEFAULT 0,
    chain_commands     text[]           NOT NULL DEFAULT '{}',
    state_reads        integer          NOT NULL DEFAULT 0,
    state_writes       integer          NOT NULL DEFAULT 0,
    state_size_bytes   bigint           NOT NULL DEFAULT 0,
    -- What chronicle.track() received, for the command_events view.
    event              text,
    anonymous_id       text,
    message_id         text,
    sent_at            timestamptz,
    received_at        timestamptz,
    context            jsonb,
    CONSTRAINT command_executions_pkey PRIMARY KEY (id),
    CONSTRAINT command_executions_status_check
        CHECK (status IN ('pending', 'running', 'success', 'failed')),
    CONSTRAINT command_executions_command_name_check
        CHECK (command_name <> '' AND length(command_name) <= 255),
    CONSTRAINT command_executions_finished_check
        CHECK ((status IN ('success', 'failed')) = (completed_at IS NOT NULL)),
    CONSTRAINT command_executions_event_check
        CHECK (event IN ('command_executed', 'command_failed', 'hook_blocked'))
);

-- The original command-tracking schema's indexes, plus the one metrics refreshes read a
-- bucket through.
CREATE INDEX idx_command_executions_user_time
    ON chronicle.command_executions (user_id, started_at DESC);
CREATE INDEX idx_command_executions_command_status
    ON chronicle.command_executions (command_name, status);
CREATE INDEX idx_command_executions_parameters
    ON chronicle.command_executions USING gin (parameters);
CREATE INDEX idx_command_executions_command_time
    ON chronicle.command_executions (command_name, started_at);
-- chronicle.track() is idempotent per RudderStack messageId and sender: the same message
-- from the same user (or anonymous id) is recorded once, and one sender's messageId
-- never collides with another's.
CREATE UNIQUE INDEX idx_command_executions_message_id
    ON chronicle.command_executions (message_id, user_id, anonymous_id) NULLS NOT DISTINCT
    WHERE message_id IS NOT NULL;

COMMENT ON TABLE chronicle.command_executions IS
  'One row per command execution: status moves pending -> running -> success | failed, never back; secrets in parameters, metadata, error and context are redacted on the way in; users see only their own rows';
COMMENT ON COLUMN chronicle.command_executions.user_id IS 'The user who ran the command (auth.users id); row-level security matches it against chronicle.current_user_id()';
COMMENT ON COLUMN chronicle.command_executions.parameters IS 'Command parameters; secrets (keys matching chronicle.redact_keys, header lists, JSON in strings) are stored as "[REDACTED]"';
COMMENT ON COLUMN chronicle.command_executions.status IS 'pending, running, success or failed; only moves forward';
COMMENT ON COLUMN chronicle.command_executions.completed_at IS 'Set by the database when the execution finishes (unless the writer gives it, e.g. a tracked event)';
COMMENT ON COLUMN chronicle.command_executions.duration_ms IS 'completed_at - started_at in milliseconds, set when the execution finishes unless the writer gives it';
COMMENT ON COLUMN chronicle.command_executions.error IS 'Error details of a failed execution, e.g. {"code": ..., "message": ...}';
COMMENT ON COLUMN chronicle.command_executions.updated_at IS 'Maintained by the database on every change';
COMMENT ON COLUMN chronicle.command_executions.hooks_executed IS 'Hooks that ran for this execution';
COMMENT ON COLUMN chronicle.command_executions.hooks_blocked IS 'Hooks that blocked the command';
COMMENT ON COLUMN chronicle.command_executions.chain_commands IS 'Commands of the chain this execution belongs to';
COMMENT ON COLUMN chronicle.command_executions.state_size_bytes IS 'State bytes the command read or wrote';
COMMENT ON COLUMN chronicle.command_executions.event IS 'The RudderStack event this row came from (chronicle.track), if any';
COMMENT ON COLUMN chronicle.command_executions.message_id IS 'RudderStack messageId; tracking the same message twice from the same sender (user_id, anonymous_id) records it once';

-- Row-level security as in the original command-tracking schema: a user sees (and
-- writes) only their own executions. The function is wrapped in a sub-select so it is
-- evaluated once per query, not once per row. The table's owner, superusers and roles
-- with BYPASSRLS (Supabase's service_role) see everything.
ALTER TABLE chronicle.command_executions ENABLE ROW LEVEL SECURITY;

CREATE POLICY "Users see own executions" ON chronicle.command_executions
    FOR SELECT USING (user_id = (SELECT chronicle.current_user_id()));
CREATE POLICY "Users record own executions" ON chronicle.command_executions
    FOR INSERT WITH CHECK (user_id = (SELECT chronicle.current_user_id()));
CREATE POLICY "Users update own executions" ON chronicle.command_executions
    FOR UPDATE USING (user_id = (SELECT chronicle.current_user_id()))
    WITH CHECK (user_id = (SELECT chronicle.current_user_id()));

-- The warehouse shape of the original system (RudderStack track events as loaded into
-- BigQuery), for a warehouse sync to read. security_invoker: the reader's row-level
-- security applies.
CREATE VIEW chronicle.command_events WITH (security_invoker = true) AS
SELECT e.id::text AS id,
       e.anonymous_id,
       e.user_id::text AS user_id,
       coalesce(e.event, CASE e.status WHEN 'success' THEN 'command_executed' ELSE 'command_failed' END) AS event,
       coalesce(e.sent_at, e.completed_at) AS sent_at,
       coalesce(e.received_at, e.created_at) AS received_at,
       e.completed_at AS "timestamp",
       coalesce(e.context, '{}') AS context,
       jsonb_strip_nulls(jsonb_build_object(
           'command_name', e.command_name,
           'command_category', e.command_category,
           'execution_time_ms', e.duration_ms,
           'parameters', e.parameters,
           'success', e.status = 'success',
           'error_code', e.error ->> 'code',
           'error_message', e.error ->> 'message',
           'hooks_executed', to_jsonb(e.hooks_executed),
           'hooks_blocked', to_jsonb(e.hooks_blocked),
           'total_hook_time_ms', e.total_hook_time_ms,
           'state_reads', e.state_reads,
           'state_writes', e.state_writes,
           'state_size_bytes', e.state_size_bytes,
           'chain_depth', e.chain_depth,
           'chain_commands', to_jsonb(e.chain_commands))) AS properties
  FROM chronicle.command_executions e
 WHERE e.status IN ('success', 'failed');

COMMENT ON VIEW chronicle.command_events IS
  'Finished executions in the shape of RudderStack track events as loaded into BigQuery (id, anonymous_id, user_id, event, sent_at, received_at, timestamp, context, properties)';
