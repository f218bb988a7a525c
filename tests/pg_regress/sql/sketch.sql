-- chronicle.quantile_sketch: a mergeable percentile sketch with a relative-error
-- guarantee. Data is generated from a fixed seed, so the results are stable.
BEGIN;
SELECT setseed(0.42);
CREATE TEMP TABLE samples AS
SELECT d.name AS dist, g.i,
       CASE d.name
         WHEN 'uniform'    THEN random() * 1000
         WHEN 'lognormal'  THEN exp(3 + sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random()))
         WHEN 'pareto'     THEN 1 / power(1 - random(), 1 / 1.5)
         WHEN 'constant'   THEN 1
         WHEN 'bimodal'    THEN CASE WHEN random() < 0.5 THEN 10 + random() ELSE 1000 + 10 * random() END
         WHEN 'mixed_sign' THEN (random() - 0.5) * 2000
       END AS v
  FROM unnest(ARRAY['uniform', 'lognormal', 'pareto', 'constant', 'bimodal', 'mixed_sign']) AS d(name),
       generate_series(1, 20000) AS g(i);

-- Every estimate is within the sketch's relative error of percentile_disc, at every
-- quantile, for every distribution; q = 0 and q = 1 are the exact min and max.
WITH q(q) AS (SELECT unnest(ARRAY[0, 0.01, 0.5, 0.9, 0.95, 0.99, 0.999, 1]::float8[])),
sketches AS (SELECT dist, chronicle.percentile_agg(v) AS s FROM samples GROUP BY dist),
exact AS (
  SELECT dist, q, percentile_disc(q) WITHIN GROUP (ORDER BY v) AS exact
    FROM samples CROSS JOIN q GROUP BY dist, q)
SELECT e.dist,
       round(max(chronicle.relative_error(s.s))::numeric, 5) AS relative_error,
       bool_and(abs(chronicle.approx_percentile(s.s, e.q) - e.exact)
                <= chronicle.relative_error(s.s) * abs(e.exact)) AS all_within_error,
       bool_and(chronicle.approx_percentile(s.s, e.q) = e.exact) FILTER (WHERE e.q IN (0, 1)) AS ends_exact
  FROM exact e JOIN sketches s USING (dist)
 GROUP BY e.dist ORDER BY e.dist;

-- All values 1: every quantile is exactly 1 (estimates are clamped to [min, max]).
SELECT chronicle.approx_percentiles(chronicle.percentile_agg(v), ARRAY[0, 0.5, 0.99, 1])
  FROM samples WHERE dist = 'constant';

-- Count, min and max are exact, the mean comes from an exact sum.
SELECT dist,
       chronicle.num_vals(s) = count AS count_exact,
       chronicle.min_val(s) = min_v AND chronicle.max_val(s) = max_v AS min_max_exact,
       abs(chronicle.mean(s) - avg_v) < 1e-9 * abs(avg_v) AS mean_matches
  FROM (SELECT dist, chronicle.percentile_agg(v) AS s, count(*) AS count, min(v) AS min_v,
               max(v) AS max_v, avg(v) AS avg_v
          FROM samples GROUP BY dist) t
 ORDER BY dist;

-- A finer or coarser sketch on request; relative_error reports the guaranteed bound.
SELECT round(chronicle.relative_error(chronicle.percentile_agg(v, 0.001))::numeric, 6) AS fine,
       round(chronicle.relative_error(chronicle.percentile_agg(v, 0.05))::numeric, 6) AS coarse
  FROM samples WHERE dist = 'lognormal';

-- One-step aggregates for ad-hoc questions.
SELECT dist, round(chronicle.approx_percentile(v, 0.5)::numeric, 3) AS p50,
       array_length(chronicle.approx_percentiles(v, ARRAY[0.5, 0.95, 0.99]), 1) AS n
  FROM samples WHERE dist IN ('uniform', 'bimodal') GROUP BY dist ORDER BY dist;

-- Percentile rank: the estimated share of values <= x.
SELECT round(chronicle.approx_percentile_rank(chronicle.percentile_agg(v), 500)::numeric, 2) AS rank_500,
       chronicle.approx_percentile_rank(chronicle.percentile_agg(v), -1) AS below_min,
       chronicle.approx_percentile_rank(chronicle.percentile_agg(v), 2000) AS above_max
  FROM samples WHERE dist = 'uniform';

-- Hourly sketches merge into a daily one in any order, byte for byte, and the merge
-- equals the sketch of all the values.
CREATE TEMP TABLE hourly AS
SELECT i % 24 AS hour, chronicle.percentile_agg(v) AS s FROM samples WHERE dist = 'lognormal' GROUP BY 1;
SELECT count(DISTINCT daily::text) AS distinct_results
  FROM (SELECT chronicle.rollup(s ORDER BY random()) AS daily FROM hourly, generate_series(1, 10) g GROUP BY g) r;
SELECT (SELECT chronicle.rollup(s) FROM hourly)::text
     = (SELECT chronicle.percentile_agg(v) FROM samples WHERE dist = 'lognormal')::text AS rollup_equals_direct;

-- Sketches of different resolutions merge at the coarser one instead of failing.
SELECT round(chronicle.relative_error(chronicle.rollup(s))::numeric, 5) AS merged_error
  FROM (SELECT chronicle.percentile_agg(v, 0.001) AS s FROM samples WHERE dist = 'uniform'
        UNION ALL SELECT chronicle.percentile_agg(v, 0.05) FROM samples WHERE dist = 'pareto') t;

-- NULLs are skipped; no values (or only NULLs) give NULL, and rollup skips NULL sketches.
SELECT chronicle.percentile_agg(v) IS NULL AS empty_is_null FROM samples WHERE false;
SELECT chronicle.percentile_agg(NULL::float8) IS NULL AS all_null_is_null FROM generate_series(1, 3);
SELECT chronicle.num_vals(chronicle.percentile_agg(x)) FROM (VALUES (1.0), (NULL), (3.0)) t(x);
SELECT chronicle.num_vals(chronicle.rollup(s)) FROM (VALUES (NULL::chronicle.quantile_sketch),
  ((SELECT chronicle.percentile_agg(x) FROM generate_series(1, 5) x))) t(s);
SELECT chronicle.rollup(s) IS NULL AS rollup_of_nulls FROM (VALUES (NULL::chronicle.quantile_sketch)) t(s);

-- Parallel and serial plans build the same sketch.
CREATE TABLE parallel_samples AS SELECT v FROM samples;
ANALYZE parallel_samples;
SET LOCAL parallel_setup_cost = 0;
SET LOCAL parallel_tuple_cost = 0;
SET LOCAL min_parallel_table_scan_size = 0;
SET LOCAL max_parallel_workers_per_gather = 2;
EXPLAIN (COSTS OFF) SELECT chronicle.percentile_agg(v) FROM parallel_samples;
CREATE TEMP TABLE parallel_result AS SELECT chronicle.percentile_agg(v)::text AS s FROM parallel_samples;
SET LOCAL max_parallel_workers_per_gather = 0;
SELECT (SELECT s FROM parallel_result) = chronicle.percentile_agg(v)::text AS same_sketch FROM parallel_samples;
RESET max_parallel_workers_per_gather;

-- A moving window costs O(1) per row; its answers are within error of the exact ones.
SELECT bool_and(abs(moving - exact) <= 0.0055 * abs(exact)) AS window_within_error, count(*) AS frames
  FROM (SELECT i,
               chronicle.approx_percentile(v, 0.9) OVER w AS moving,
               (SELECT percentile_disc(0.9) WITHIN GROUP (ORDER BY v) FROM samples x
                 WHERE x.dist = 'lognormal' AND x.i BETWEEN s.i - 49 AND s.i) AS exact
          FROM samples s WHERE dist = 'lognormal' AND i <= 1000
        WINDOW w AS (ORDER BY i ROWS BETWEEN 49 PRECEDING AND CURRENT ROW)) t;

-- The text form round-trips, and so does binary COPY.
SELECT s::text::chronicle.quantile_sketch::text = s::text AS text_round_trip
  FROM (SELECT chronicle.percentile_agg(v) AS s FROM samples WHERE dist = 'mixed_sign') t;
SELECT chronicle.percentile_agg(x)::text FROM generate_series(1, 3) x;
CREATE TEMP TABLE copied (dist text, s chronicle.quantile_sketch);
INSERT INTO copied SELECT dist, chronicle.percentile_agg(v) FROM samples GROUP BY dist;
COPY copied TO '/tmp/chronicle_regress_sketch.bin' (FORMAT binary);
CREATE TEMP TABLE restored (LIKE copied);
COPY restored FROM '/tmp/chronicle_regress_sketch.bin' (FORMAT binary);
SELECT count(*) AS rows, bool_and(c.s::text = r.s::text) AS identical
  FROM copied c JOIN restored r USING (dist);

-- The histogram, for plotting.
SELECT lower, upper, count FROM chronicle.histogram(
  (SELECT chronicle.percentile_agg(x) FROM unnest(ARRAY[-2, 0, 0, 1, 1, 100]::float8[]) x));
ROLLBACK;

-- Bad input is a clear error.
SELECT regress.error_of($$SELECT chronicle.percentile_agg(x) FROM unnest(ARRAY[1, 'NaN']::float8[]) x$$);
SELECT regress.error_of($$SELECT chronicle.percentile_agg(x) FROM unnest(ARRAY[1, 'Infinity']::float8[]) x$$);
SELECT regress.error_of($$SELECT chronicle.percentile_agg(x, 0.5) FROM generate_series(1, 3) x$$);
SELECT regress.error_of($$SELECT chronicle.percentile_agg(x, 0) FROM generate_series(1, 3) x$$);
SELECT regress.error_of($$SELECT chronicle.percentile_agg(x, 'NaN') FROM generate_series(1, 3) x$$);
SELECT regress.error_of($$SELECT chronicle.approx_percentile(x, 1.5) FROM generate_series(1, 3) x$$);
SELECT regress.error_of($$SELECT chronicle.approx_percentile(chronicle.percentile_agg(x), -0.1) FROM generate_series(1, 3) x$$);
SELECT regress.error_of($$SELECT chronicle.approx_percentiles(chronicle.percentile_agg(x), ARRAY[0.5, NULL]) FROM generate_series(1, 3) x$$);
SELECT regress.error_of($$SELECT 'not a sketch'::chronicle.quantile_sketch$$);
SELECT regress.error_of($$SELECT 'qsketch:AQAG'::chronicle.quantile_sketch$$);
SELECT regress.error_of($$SELECT 'qsketch:AQAGAQ=='::chronicle.quantile_sketch$$);
SELECT regress.error_of($$SELECT 'qsketch:AgAGAA=='::chronicle.quantile_sketch$$);

-- The plain aggregates' state type, which Citus ships between nodes: its text form round
-- trips, its input is strict, and its support functions run only inside an aggregate.
BEGIN;
CREATE TEMP TABLE shipped AS
SELECT 'q=0.5,0.99;' || chronicle.percentile_agg(x)::text AS text FROM generate_series(1, 1000) x;
SELECT s.text::chronicle.sketch_state::text = s.text AS round_trip,
       chronicle.percentiles_state_final(s.text::chronicle.sketch_state) AS percentiles
  FROM shipped s;
ROLLBACK;
SELECT regress.error_of($$SELECT 'not a state'::chronicle.sketch_state$$);
SELECT regress.error_of($$SELECT 'q=1.5;qsketch:AQAG'::chronicle.sketch_state$$);
SELECT regress.error_of($$SELECT 'q=0.5;qsketch:AQAG'::chronicle.sketch_state$$);
SELECT regress.error_of($$SELECT chronicle.sketch_state_trans(NULL, 1.0)$$);
SELECT regress.error_of($$SELECT chronicle.sketch_state_combine(s, s) FROM (SELECT ('q=;' || chronicle.percentile_agg(1.0)::text)::chronicle.sketch_state AS s) x$$);
