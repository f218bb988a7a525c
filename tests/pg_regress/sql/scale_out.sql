-- Scale-out on a server without Citus: distribute() refuses with what to do, and changes
-- nothing; propagate_claims() does nothing; the metrics keep their single-server path.
SELECT regress.error_of('SELECT chronicle.distribute()');
SELECT chronicle._metrics_distributed() AS distributed;
SELECT count(*) AS distributed_columns FROM pg_attribute
 WHERE attrelid = 'chronicle.metrics_changes'::regclass AND attname = 'execution_id';
SELECT indexrelid::regclass AS message_index FROM pg_index
 WHERE indexrelid = 'chronicle.idx_command_executions_message_id'::regclass;

BEGIN;
SELECT set_config('request.jwt.claims', '{"sub": "11111111-1111-4111-8111-111111111111"}', true) IS NOT NULL AS claims_set;
SELECT chronicle.propagate_claims();
SELECT current_setting('citus.propagate_set_commands', true) AS citus_setting;
ROLLBACK;

-- A tracked message's id is derived from its messageId and sender (so that the primary
-- key keeps it unique on Citus too): the same for the same message and sender, another
-- for another sender.
BEGIN;
SELECT chronicle.track('{"event": "command_executed", "messageId": "scale-1", "anonymousId": "a-1",
                         "timestamp": "2026-12-01T10:00:00Z", "properties": {"command_name": "t"}}') AS first \gset
SELECT chronicle.track('{"event": "command_executed", "messageId": "scale-1", "anonymousId": "a-1",
                         "timestamp": "2026-12-01T10:00:00Z", "properties": {"command_name": "t"}}') = :'first' AS same_id;
SELECT chronicle.track('{"event": "command_executed", "messageId": "scale-1", "anonymousId": "a-2",
                         "timestamp": "2026-12-01T10:00:00Z", "properties": {"command_name": "t"}}') <> :'first' AS other_sender_other_id;
SELECT :'first'::uuid = substr(encode(sha256(convert_to('["scale-1", null, "a-1"]', 'UTF8')), 'hex'), 1, 32)::uuid AS derived;
ROLLBACK;
