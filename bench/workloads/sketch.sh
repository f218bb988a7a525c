#!/usr/bin/env bash
# Percentiles over 10M lognormal-ish durations (issue: chronicle.quantile_sketch):
# approx_percentiles of p50/p95/p99 against a count/avg scan (the floor), percentile_cont
# and the tdigest extension (compression 100); the same grouped by 100 commands; a rollup
# of 720 hourly sketches; and the error of each estimate against percentile_disc.
# Each query runs three times in one session; the fastest run counts.
# shellcheck source=../lib.sh
source "$(dirname "$0")/../lib.sh"
DB=chronicle_bench_sketch
ROWS=${BENCH_SKETCH_ROWS:-10000000}
fresh_db $DB
bench_psql $DB -c "CREATE EXTENSION tdigest" >/dev/null
log "generating $ROWS durations"
bench_psql $DB -o /dev/null <<SQL
SELECT setseed(0.7);
CREATE TABLE durations AS
SELECT 'cmd_' || (i % 100) AS command,
       exp(4 + 0.8 * sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random())) AS duration_ms
  FROM generate_series(1, $ROWS) i;
VACUUM ANALYZE durations;
CREATE TABLE hourly AS
SELECT h, chronicle.percentile_agg(exp(4 + 0.8 * sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random()))) AS s
  FROM generate_series(1, 720) h, generate_series(1, 2000) GROUP BY h;
VACUUM ANALYZE hourly;
SQL

Q='ARRAY[0.5, 0.95, 0.99]'
floor=$(fastest $DB "SELECT count(*), avg(duration_ms) FROM durations" "jit = off")
sketch=$(fastest $DB "SELECT chronicle.approx_percentiles(duration_ms, $Q) FROM durations" "jit = off")
cont=$(fastest $DB "SELECT percentile_cont($Q) WITHIN GROUP (ORDER BY duration_ms) FROM durations" "jit = off")
tdigest=$(fastest $DB "SELECT tdigest_percentile(duration_ms, 100, $Q) FROM durations" "jit = off")
g_floor=$(fastest $DB "SELECT command, count(*), avg(duration_ms) FROM durations GROUP BY command" "jit = off")
g_sketch=$(fastest $DB "SELECT command, chronicle.approx_percentiles(duration_ms, $Q) FROM durations GROUP BY command" "jit = off")
g_cont=$(fastest $DB "SELECT command, percentile_cont($Q) WITHIN GROUP (ORDER BY duration_ms) FROM durations GROUP BY command" "jit = off")
g_tdigest=$(fastest $DB "SELECT command, tdigest_percentile(duration_ms, 100, $Q) FROM durations GROUP BY command" "jit = off")
rollup=$(fastest $DB "SELECT chronicle.approx_percentiles(chronicle.rollup(s), $Q) FROM hourly" "jit = off")
hourly_bytes=$(value $DB "SELECT round(avg(pg_column_size(s))) FROM hourly")
total_bytes=$(value $DB "SELECT pg_column_size(chronicle.percentile_agg(duration_ms)) FROM durations")

# Worst relative error over p50/p95/p99 against percentile_disc, for the sketch and tdigest.
errors=$(value $DB "SET jit = off;
  WITH exact AS (SELECT percentile_disc($Q) WITHIN GROUP (ORDER BY duration_ms) AS e FROM durations),
       est AS (SELECT chronicle.approx_percentiles(duration_ms, $Q) AS s,
                      tdigest_percentile(duration_ms, 100, $Q) AS t FROM durations)
  SELECT round(100 * max(abs(s[i] - e[i]) / e[i])::numeric, 3) || '|' || round(100 * max(abs(t[i] - e[i]) / e[i])::numeric, 3)
    FROM exact, est, generate_series(1, 3) i" | tail -1)
sketch_err=${errors%|*}
tdigest_err=${errors#*|}

cat <<TABLE
### Percentiles over $ROWS rows (p50, p95, p99; 2 parallel workers; JIT off)

| query | ms | vs count/avg scan | sketch is faster by | target |
|---|---:|---:|---:|---|
| \`count(*), avg()\` scan (floor) | $floor | 1.00 | | |
| \`chronicle.approx_percentiles\` | $sketch | $(ratio "$sketch" "$floor") | | ≤ 1.3× the scan |
| \`tdigest_percentile\` (compression 100) | $tdigest | $(ratio "$tdigest" "$floor") | $(ratio "$tdigest" "$sketch")× | ≥ 2.5× |
| \`percentile_cont\` | $cont | $(ratio "$cont" "$floor") | $(ratio "$cont" "$sketch")× | ≥ 10× |
| grouped by 100 commands: count/avg | $g_floor | 1.00 | | |
| grouped: \`approx_percentiles\` | $g_sketch | $(ratio "$g_sketch" "$g_floor") | | |
| grouped: \`tdigest_percentile\` | $g_tdigest | $(ratio "$g_tdigest" "$g_floor") | $(ratio "$g_tdigest" "$g_sketch")× | |
| grouped: \`percentile_cont\` | $g_cont | $(ratio "$g_cont" "$g_floor") | $(ratio "$g_cont" "$g_sketch")× | |
| \`rollup\` of 720 hourly sketches + 3 percentiles | $rollup | | | < 5 ms |

Worst error against \`percentile_disc\` over p50/p95/p99: sketch **$sketch_err%** (target ≤ 1%), tdigest $tdigest_err%.
Sketch size: $total_bytes bytes for all $ROWS values, $hourly_bytes bytes on average per hourly sketch.
TABLE
