-- Catalog comments changed in 0.6.0: they say what a thing is instead of naming the design
-- notes it came from, and they no longer understate what is redacted or what track()
-- deduplicates by. Each statement is the install script's, word for word (the upgrade test
-- compares an updated catalog with a fresh install's); the 0.6.0 upgrade script includes
-- this file.

COMMENT ON TABLE chronicle.command_metrics_daily IS
  'Per UTC day and command, rolled up from the hourly metrics; maintained by chronicle.refresh_metrics()';
COMMENT ON VIEW chronicle.command_performance IS
  'Per command and hour of the last 7 days: executions, average and p95 duration, failures (the command_performance_mv of the original command-tracking schema, as a view of the hourly metrics)';
COMMENT ON TABLE chronicle.command_executions IS
  'One row per command execution: status moves pending -> running -> success | failed, never back; secrets in parameters, metadata, error and context are redacted on the way in; users see only their own rows';
COMMENT ON COLUMN chronicle.command_executions.hooks_executed IS 'Hooks that ran for this execution';
COMMENT ON COLUMN chronicle.command_executions.chain_commands IS 'Commands of the chain this execution belongs to';
COMMENT ON COLUMN chronicle.command_executions.state_size_bytes IS 'State bytes the command read or wrote';
COMMENT ON VIEW chronicle.command_events IS
  'Finished executions in the shape of RudderStack track events as loaded into BigQuery (id, anonymous_id, user_id, event, sent_at, received_at, timestamp, context, properties)';
COMMENT ON FUNCTION chronicle.track(jsonb) IS
  'Records a RudderStack track call (command_executed, command_failed or hook_blocked) as a command execution; idempotent per messageId and sender; returns its id';
COMMENT ON FUNCTION chronicle.command_executions_lifecycle() IS
  'Trigger: enforces the status order of command executions, stamps finish times and updated_at, and redacts secrets from parameters, metadata, error and context';
COMMENT ON AGGREGATE chronicle.percentile_agg(double precision, double precision) IS
  'Quantile sketch of the values with the given relative error (from the first row; at least 0.0001 and below 0.5)';
COMMENT ON TABLE chronicle.state_schema_violations IS
  'State versions written under a warn-mode schema that did not validate, with what was wrong; administrators read it, only the extension''s owner deletes from it';
