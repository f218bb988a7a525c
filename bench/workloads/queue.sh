#!/usr/bin/env bash
# The Gist export queue (issue: gist_export_queue). Exports are enqueued by state writes
# (latest mode, one file per entity), then claimed (batches of 10) and acknowledged in a
# second transaction, as an exporter does, with 1, 4 and 8 consumers. Anchors in the same
# run: a plain FOR UPDATE SKIP LOCKED table doing the same claim-then-ack work (leases and
# tokens included, nothing else), pgmq (the queue Supabase ships: read with a visibility
# timeout, then delete; no per-file order, lease token, retry or dead rows), and PgQ (one consumer: PgQ consumers each receive every
# event; sharing work needs pgq_coop, which Debian does not package). Then a soak: 1M
# exports through writers, consumers and a pruner at once, with the queue's size before
# and after. Then a deep backlog on a few files (every_version on 10 hot entities), whose
# exports must leave one at a time per file, against a plain table that keeps that order
# the textbook way.
# shellcheck source=../lib.sh
source "$(dirname "$0")/../lib.sh"
DB=chronicle_bench_queue
S=$(mktemp -d)
trap 'rm -rf "$S"' EXIT
EXPORTS=${BENCH_QUEUE_EXPORTS:-50000}
SOAK=${BENCH_QUEUE_SOAK:-1000000}
DEEP=${BENCH_QUEUE_DEEP:-30000}
ensure_pgmq
fresh_db $DB
bench_psql $DB -q <<'SQL'
CREATE EXTENSION pgq;
CREATE EXTENSION pgmq;
SELECT pgmq.create('jobs');
SELECT count(*) FROM chronicle.set_gist_target('q', 'abc123');
CREATE TABLE plain_queue (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  payload text NOT NULL,
  status text NOT NULL DEFAULT 'pending',
  lease_token uuid,
  lease_expires_at timestamptz
);
CREATE INDEX ON plain_queue (id) WHERE status = 'pending';
-- Per-file order, the textbook way: a row is claimable when no earlier row of its file
-- is unfinished, checked for each row read in id order.
CREATE TABLE plain_ordered_queue (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  file_name text NOT NULL,
  payload text NOT NULL,
  status text NOT NULL DEFAULT 'pending',
  lease_token uuid,
  lease_expires_at timestamptz
);
CREATE INDEX ON plain_ordered_queue (id) WHERE status IN ('pending', 'in_flight');
CREATE INDEX ON plain_ordered_queue (file_name, id) WHERE status IN ('pending', 'in_flight');
SELECT pgq.create_queue('bench');
SELECT pgq.register_consumer('bench', 'consumer');
SQL

# The same document for every export: ~150 bytes of JSON.
DOC="jsonb_build_object('r', random(), 'theme', 'dark', 'flags', jsonb_build_array(1, 2, 3), 'limits', jsonb_build_object('parallel', 4, 'timeout_ms', 30000))"

enqueue_chronicle() {
  bench_psql $DB -q -c "SELECT count(chronicle.put_state('q', i::text, $DOC)) FROM generate_series(1, $EXPORTS) i" >/dev/null
}
enqueue_pgmq() {
  bench_psql $DB -q -c "SELECT count(*) FROM pgmq.send_batch('jobs', ARRAY(SELECT $DOC FROM generate_series(1, $EXPORTS)))" >/dev/null
}
enqueue_plain() {
  bench_psql $DB -q -c "INSERT INTO plain_queue (payload) SELECT ($DOC)::text FROM generate_series(1, $EXPORTS)" >/dev/null
}

cat >"$S/chronicle.sql" <<'SQL'
SELECT coalesce(array_agg(id), '{}') AS ids, coalesce(array_agg(lease_token), '{}') AS tokens
  FROM chronicle.export_claim(10, '1 minute') \gset
SELECT chronicle.export_ack_all(':ids'::bigint[], ':tokens'::uuid[], 'rev');
SQL
# The plain table's claim and ack, as two transactions like the chronicle script.
cat >"$S/plain.sql" <<'SQL'
WITH c AS (SELECT id FROM plain_queue WHERE status = 'pending' ORDER BY id LIMIT 10 FOR UPDATE SKIP LOCKED),
     claimed AS (UPDATE plain_queue q SET status = 'in_flight', lease_token = gen_random_uuid(),
                        lease_expires_at = now() + interval '1 minute'
                   FROM c WHERE q.id = c.id RETURNING q.id, q.lease_token, q.payload)
SELECT coalesce(array_agg(id), '{}') AS ids, coalesce(array_agg(lease_token), '{}') AS tokens FROM claimed \gset
UPDATE plain_queue q SET status = 'done', lease_token = NULL
  FROM unnest(':ids'::bigint[], ':tokens'::uuid[]) AS a(i, t)
 WHERE q.id = a.i AND q.lease_token = a.t AND q.status = 'in_flight';
SQL

# pgmq's consumer: up to 10 messages hidden for 30 s, then deleted, in two transactions.
cat >"$S/pgmq.sql" <<'SQL'
SELECT coalesce(array_agg(msg_id), '{}') AS ids FROM pgmq.read('jobs', 30, 10) \gset
SELECT count(*) FROM pgmq.delete('jobs', ':ids'::bigint[]);
SQL

# drain SCRIPT CLIENTS COUNT_QUERY: runs CLIENTS consumers until COUNT_QUERY reaches 0;
# prints exports acknowledged per second. Consumers run a fixed number of transactions
# (-t), never stopped between claim and ack, so no lease is left to expire.
drain() {
  local script=$1 clients=$2 count_query=$3
  local before left; before=$(value $DB "$count_query")
  local start; start=$(date +%s.%N)
  left=$before
  while [ "$left" -gt 0 ]; do
    pgbench -h "$BENCH_HOST" -p "$BENCH_PORT" -U postgres -n -c "$clients" -j "$(( clients < 2 ? 1 : 2 ))" \
      -t $(( left / (10 * clients) + 1 )) -f "$script" $DB >/dev/null 2>&1 || true
    left=$(value $DB "$count_query")
  done
  local end; end=$(date +%s.%N)
  awk -v n="$before" -v a="$start" -v b="$end" 'BEGIN { printf "%.0f", n / (b - a) }'
}

CHRONICLE_LEFT="SELECT pending + in_flight FROM chronicle.export_stats()"
PLAIN_LEFT="SELECT count(*) FROM plain_queue WHERE status <> 'done'"
PGMQ_LEFT="SELECT count(*) FROM pgmq.q_jobs"
# Runs of a few seconds on a shared 2-core machine vary by ±10% (autovacuum, neighbours),
# so each figure is the median of ROUNDS runs, the two queues taking turns.
ROUNDS=${BENCH_QUEUE_ROUNDS:-3}
declare -A chronicle plain pgmq runs
for clients in 1 4 8; do
  chronicle_runs=(); plain_runs=(); pgmq_runs=()
  for _ in $(seq 1 "$ROUNDS"); do
    enqueue_chronicle; chronicle_runs+=("$(drain "$S/chronicle.sql" $clients "$CHRONICLE_LEFT")")
    enqueue_pgmq; pgmq_runs+=("$(drain "$S/pgmq.sql" $clients "$PGMQ_LEFT")")
    enqueue_plain; plain_runs+=("$(drain "$S/plain.sql" $clients "$PLAIN_LEFT")")
    # Each run starts clean: the plain table is truncated, the queue pruned and vacuumed
    # (what autovacuum does within a minute), so that a run does not inherit the dead
    # rows of the one before.
    bench_psql $DB -q -c "SELECT chronicle.prune_export_queue('0 seconds')" -c "VACUUM chronicle.gist_export_queue" \
      -c "VACUUM chronicle.gist_export_deliveries" \
      -c "TRUNCATE plain_queue" -c "VACUUM pgmq.q_jobs" >/dev/null
  done
  chronicle[$clients]=$(median "${chronicle_runs[@]}")
  plain[$clients]=$(median "${plain_runs[@]}")
  pgmq[$clients]=$(median "${pgmq_runs[@]}")
  runs[$clients]="${chronicle_runs[*]} / ${pgmq_runs[*]} / ${plain_runs[*]}"
done

# Deep backlog: DEEP exports over 10 files in every_version mode, 8 consumers. The
# chronicle queue is drained and timed; the anchor runs for 20 s and its rate is what it
# delivered in that time: its claim reads the backlog it has not delivered yet, and
# draining it would take about half an hour.
# deep_rate SCRIPT DONE_QUERY: exports delivered per second in 20 s.
deep_rate() {
  local before after
  before=$(value $DB "$2")
  pgbench -h "$BENCH_HOST" -p "$BENCH_PORT" -U postgres -n -c 8 -j 2 -T 20 -f "$1" $DB >/dev/null 2>&1 || true
  after=$(value $DB "$2")
  echo $(( (after - before) / 20 ))
}
bench_psql $DB -q -c "SELECT count(*) FROM chronicle.set_gist_target('hot', 'def456', mode => 'every_version')" >/dev/null
for _ in $(seq 1 $(( DEEP / 1000 ))); do
  bench_psql $DB -q -c "SELECT count(chronicle.put_state('hot', (i % 10)::text, $DOC)) FROM generate_series(1, 1000) i" >/dev/null
done
bench_psql $DB -q -c "VACUUM ANALYZE chronicle.gist_export_queue" >/dev/null
deep_chronicle=$(drain "$S/chronicle.sql" 8 "$CHRONICLE_LEFT")
bench_psql $DB -q -c "INSERT INTO plain_ordered_queue (file_name, payload)
                        SELECT 'hot.' || i % 10 || '.json', ($DOC)::text FROM generate_series(1, $(( DEEP / 1000 * 1000 ))) i" \
                  -c "VACUUM ANALYZE plain_ordered_queue" >/dev/null
cat >"$S/plain_ordered.sql" <<'SQL'
WITH c AS (SELECT id FROM plain_ordered_queue q
            WHERE status = 'pending'
              AND NOT EXISTS (SELECT FROM plain_ordered_queue e
                               WHERE e.file_name = q.file_name AND e.id < q.id AND e.status IN ('pending', 'in_flight'))
            ORDER BY id LIMIT 10 FOR UPDATE SKIP LOCKED),
     claimed AS (UPDATE plain_ordered_queue q SET status = 'in_flight', lease_token = gen_random_uuid(),
                        lease_expires_at = now() + interval '1 minute'
                   FROM c WHERE q.id = c.id RETURNING q.id, q.lease_token)
SELECT coalesce(array_agg(id), '{}') AS ids, coalesce(array_agg(lease_token), '{}') AS tokens FROM claimed \gset
UPDATE plain_ordered_queue q SET status = 'done', lease_token = NULL
  FROM unnest(':ids'::bigint[], ':tokens'::uuid[]) AS a(i, t)
 WHERE q.id = a.i AND q.lease_token = a.t AND q.status = 'in_flight';
SQL
deep_plain=$(deep_rate "$S/plain_ordered.sql" "SELECT count(*) FROM plain_ordered_queue WHERE status = 'done'")
bench_psql $DB -q -c "SELECT count(*) FROM chronicle.remove_gist_target('hot')" \
  -c "DELETE FROM chronicle.gist_export_queue" \
  -c "SELECT chronicle.prune_export_queue('0 seconds')" >/dev/null

# PgQ: one consumer taking batches, with the ticker driven by the consumer itself.
bench_psql $DB -q -c "SELECT count(pgq.insert_event('bench', 'export', ($DOC)::text)) FROM generate_series(1, $EXPORTS)" >/dev/null
pgq_start=$(date +%s.%N)
bench_psql $DB -q <<'SQL' >/dev/null
DO $$
DECLARE
  batch bigint;
  idle integer := 0;
BEGIN
  LOOP
    PERFORM pgq.ticker();
    batch := pgq.next_batch('bench', 'consumer');
    IF batch IS NULL THEN
      idle := idle + 1;
      EXIT WHEN idle > 3;
      COMMIT;
      CONTINUE;
    END IF;
    idle := 0;
    PERFORM count(*) FROM pgq.get_batch_events(batch);
    PERFORM pgq.finish_batch(batch);
    COMMIT;
  END LOOP;
END $$;
SQL
pgq_end=$(date +%s.%N)
pgq_rate=$(awk -v n="$EXPORTS" -v a="$pgq_start" -v b="$pgq_end" 'BEGIN { printf "%.0f", n / (b - a) }')

# Soak: writers (latest mode over 100k files), 4 consumers and a pruner together until
# SOAK exports went through; the queue's size (with the deliveries not yet pruned) is
# compared with its size at the start.
bench_psql $DB -q -c "SELECT chronicle.prune_export_queue('0 seconds')" -c "VACUUM chronicle.gist_export_queue" >/dev/null
printf "\\set e random(1, 100000)\nSELECT chronicle.put_state('q', :e::text, %s);\n" "$DOC" >"$S/write.sql"
printf "SELECT chronicle.prune_export_queue('10 seconds');\nSELECT pg_sleep(1);\n" >"$S/prune.sql"
soak_round() {
  pgbench -h "$BENCH_HOST" -p "$BENCH_PORT" -U postgres -n -c 2 -j 1 -T 20 -f "$S/write.sql" $DB >/dev/null 2>&1 &
  pgbench -h "$BENCH_HOST" -p "$BENCH_PORT" -U postgres -n -c 4 -j 1 -T 20 -f "$S/chronicle.sql" $DB >/dev/null 2>&1 &
  pgbench -h "$BENCH_HOST" -p "$BENCH_PORT" -U postgres -n -c 1 -j 1 -T 20 -f "$S/prune.sql" $DB >/dev/null 2>&1 &
  wait
}
soak_start=$(date +%s)
first_id=$(value $DB "SELECT coalesce(max(id), 0) FROM chronicle.gist_export_queue")
# The start is the size after the first two minutes of load: by then the table holds its
# working set of pending, in-flight and not yet pruned rows, plus the dead rows of one
# autovacuum_naptime (1 min by default), which is what bounds it.
for _ in 1 2 3 4 5 6; do soak_round; done
size_before=$(value $DB "SELECT pg_total_relation_size('chronicle.gist_export_queue') + pg_total_relation_size('chronicle.gist_export_deliveries')")
while [ "$(value $DB "SELECT coalesce(max(id), 0) FROM chronicle.gist_export_queue")" -lt $(( first_id + SOAK )) ]; do
  soak_round
done
drain "$S/chronicle.sql" 4 "$CHRONICLE_LEFT" >/dev/null
soak_minutes=$(( ($(date +%s) - soak_start) / 60 ))
size_peak_after=$(value $DB "SELECT pg_total_relation_size('chronicle.gist_export_queue') + pg_total_relation_size('chronicle.gist_export_deliveries')")
bench_psql $DB -q -c "SELECT chronicle.prune_export_queue('0 seconds')" >/dev/null
sleep 5
size_after=$(value $DB "SELECT pg_total_relation_size('chronicle.gist_export_queue') + pg_total_relation_size('chronicle.gist_export_deliveries')")
mb() { awk -v b="$1" 'BEGIN { printf "%.1f MB", b / 1048576 }'; }

cat <<TABLE
### Gist export queue: claim (batches of 10) then ack, $EXPORTS exports per run, median of $ROUNDS runs

| consumers | chronicle queue (exports/s) | pgmq $PGMQ_VERSION (messages/s) | vs pgmq | plain SKIP LOCKED table (exports/s) | vs plain | target |
|---:|---:|---:|---:|---:|---:|---|
| 1 | ${chronicle[1]} | ${pgmq[1]} | $(ratio "${chronicle[1]}" "${pgmq[1]}") | ${plain[1]} | $(ratio "${chronicle[1]}" "${plain[1]}") | ≥ 1 against both |
| 4 | ${chronicle[4]} | ${pgmq[4]} | $(ratio "${chronicle[4]}" "${pgmq[4]}") | ${plain[4]} | $(ratio "${chronicle[4]}" "${plain[4]}") | ≥ 1 against both |
| 8 | ${chronicle[8]} | ${pgmq[8]} | $(ratio "${chronicle[8]}" "${pgmq[8]}") | ${plain[8]} | $(ratio "${chronicle[8]}" "${plain[8]}") | ≥ 1 against both |

pgmq: \`pgmq.read('jobs', 30, 10)\` then \`pgmq.delete('jobs', ids)\`, in two transactions like the others.
Every run (chronicle / pgmq / plain, per second): 1 consumer ${runs[1]}; 4 consumers ${runs[4]}; 8 consumers ${runs[8]}.

Deep backlog: $(( DEEP / 1000 * 1000 )) exports queued over 10 files in every_version mode (each file's exports leave
one at a time, in order), 8 consumers:

| queue | exports delivered/s | ratio |
|---|---:|---:|
| chronicle queue (drained) | $deep_chronicle | $(ratio "$deep_chronicle" "$deep_plain") |
| plain SKIP LOCKED table, order kept by a per-row NOT EXISTS check in id order (20 s) | $deep_plain | 1.00 |

PgQ, one consumer (ticker, next_batch, get_batch_events, finish_batch): $pgq_rate events/s. PgQ hands a consumer
every event since its last batch at once and acknowledges the batch as a whole, with no per-event lease, retry or
ordering per file, so this is its bulk rate, not the same work; the chronicle queue with one consumer moves $(ratio "${chronicle[1]}" "$pgq_rate")× as many.

Soak: $SOAK exports in $soak_minutes min (2 writers over 100k files, 4 consumers, a pruner keeping 10 s of done rows):
queue size $(mb "$size_before") after the first 2 min of load, $(mb "$size_peak_after") at the end of the load, $(mb "$size_after") after the last prune
(ratio end/start $(ratio "$size_peak_after" "$size_before"); target ≤ 2).
TABLE
