#!/usr/bin/env bash
# quantile_sketch values survive pg_dump and pg_restore byte for byte.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
SRC=chronicle_it_dump_src
DST=chronicle_it_dump_dst
DUMP=$(mktemp)
trap 'rm -f "$DUMP"' EXIT

fresh_database $SRC
sql $SRC "CREATE TABLE hourly AS
          SELECT h, chronicle.percentile_agg(random() * h + h) AS s
            FROM generate_series(1, 48) h, generate_series(1, 500) GROUP BY h"
before=$(sql $SRC "SELECT md5(string_agg(s::text, ',' ORDER BY h)) FROM hourly")
pg_dump -h "$IT_HOST" -p "$IT_PORT" -U postgres -Fc -f "$DUMP" $SRC
cluster_psql "$IT_CLUSTER" "$IT_PORT" -d postgres \
  -c "DROP DATABASE IF EXISTS $DST WITH (FORCE)" -c "CREATE DATABASE $DST"
pg_restore -h "$IT_HOST" -p "$IT_PORT" -U postgres -d $DST --exit-on-error "$DUMP"
after=$(sql $DST "SELECT md5(string_agg(s::text, ',' ORDER BY h)) FROM hourly")
[ "$before" = "$after" ] || { echo "FAIL: sketches changed across dump/restore" >&2; exit 1; }
p95=$(sql $DST "SELECT chronicle.approx_percentile(chronicle.rollup(s), 0.95) > 0 FROM hourly")
[ "$p95" = t ] || { echo "FAIL: restored sketches do not roll up" >&2; exit 1; }
echo "ok: 48 sketches identical after pg_dump/pg_restore" >&2
