-- The quantile sketch aggregates. Support functions are Rust (src/sketch/aggregate.rs).
-- The state is a chronicle.sketch_state (src/sketch/state.rs), changed in place row after
-- row, which Citus can ship: it computes these aggregates as partial states on its
-- workers and merges them on the coordinator. Every aggregate is parallel safe (a combine
-- function), and those over raw values also have a moving form with an internal state,
-- so window frames cost O(1) per row.
--
-- SSPACE: a sketch of real durations holds a few kB; 8 kB is what the planner assumed for
-- the internal state before, so hash aggregation is chosen as it was.
--
-- CREATE OR REPLACE: an upgrade step includes this part of the file (sql/upgrades/).

CREATE OR REPLACE AGGREGATE chronicle.percentile_agg(value double precision) (
    SFUNC = chronicle.sketch_state_trans,
    STYPE = chronicle.sketch_state,
    SSPACE = 8192,
    FINALFUNC = chronicle.sketch_state_final,
    COMBINEFUNC = chronicle.sketch_state_combine,
    MSFUNC = chronicle.sketch_trans,
    MINVFUNC = chronicle.sketch_inv,
    MSTYPE = internal,
    MFINALFUNC = chronicle.sketch_final,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE chronicle.percentile_agg(double precision) IS
  'Quantile sketch of the values (1% relative error); NULLs are skipped, no values give NULL';

CREATE OR REPLACE AGGREGATE chronicle.percentile_agg(value double precision, relative_error double precision) (
    SFUNC = chronicle.sketch_state_trans_with_error,
    STYPE = chronicle.sketch_state,
    SSPACE = 8192,
    FINALFUNC = chronicle.sketch_state_final,
    COMBINEFUNC = chronicle.sketch_state_combine,
    MSFUNC = chronicle.sketch_trans_with_error,
    MINVFUNC = chronicle.sketch_inv_with_error,
    MSTYPE = internal,
    MFINALFUNC = chronicle.sketch_final,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE chronicle.percentile_agg(double precision, double precision) IS
  'Quantile sketch of the values with the given relative error (from the first row; at least 0.0001 and below 0.5)';

CREATE OR REPLACE AGGREGATE chronicle.rollup(sketch chronicle.quantile_sketch) (
    SFUNC = chronicle.rollup_state_trans,
    STYPE = chronicle.sketch_state,
    SSPACE = 8192,
    FINALFUNC = chronicle.sketch_state_final,
    COMBINEFUNC = chronicle.sketch_state_combine,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE chronicle.rollup(chronicle.quantile_sketch) IS
  'Merges sketches (e.g. hourly into daily); NULLs are skipped; different resolutions merge at the coarser one';

CREATE OR REPLACE AGGREGATE chronicle.approx_percentile(value double precision, quantile double precision) (
    SFUNC = chronicle.percentile_state_trans,
    STYPE = chronicle.sketch_state,
    SSPACE = 8192,
    FINALFUNC = chronicle.percentile_state_final,
    COMBINEFUNC = chronicle.sketch_state_combine,
    MSFUNC = chronicle.percentile_trans,
    MINVFUNC = chronicle.percentile_inv,
    MSTYPE = internal,
    MFINALFUNC = chronicle.percentile_final,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE chronicle.approx_percentile(double precision, double precision) IS
  'One-step estimate of percentile_disc(quantile) of the values, within 1% relative error';

CREATE OR REPLACE AGGREGATE chronicle.approx_percentiles(value double precision, quantiles double precision[]) (
    SFUNC = chronicle.percentiles_state_trans,
    STYPE = chronicle.sketch_state,
    SSPACE = 8192,
    FINALFUNC = chronicle.percentiles_state_final,
    COMBINEFUNC = chronicle.sketch_state_combine,
    MSFUNC = chronicle.percentiles_trans,
    MINVFUNC = chronicle.percentiles_inv,
    MSTYPE = internal,
    MFINALFUNC = chronicle.percentiles_final,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE chronicle.approx_percentiles(double precision, double precision[]) IS
  'One-step estimates of several percentiles of the values, within 1% relative error';

COMMENT ON FUNCTION chronicle.approx_percentile(chronicle.quantile_sketch, double precision) IS
  'Estimate of percentile_disc(quantile) over the sketched values, within relative_error(sketch); 0 and 1 give the exact min and max';
COMMENT ON FUNCTION chronicle.approx_percentiles(chronicle.quantile_sketch, double precision[]) IS
  'approx_percentile for several quantiles at once';
COMMENT ON FUNCTION chronicle.approx_percentile_rank(chronicle.quantile_sketch, double precision) IS
  'Estimated fraction of the sketched values that are <= value';
COMMENT ON FUNCTION chronicle.num_vals(chronicle.quantile_sketch) IS 'Exact number of values in the sketch';
COMMENT ON FUNCTION chronicle.mean(chronicle.quantile_sketch) IS 'Mean of the sketched values, from their exact sum';
COMMENT ON FUNCTION chronicle.min_val(chronicle.quantile_sketch) IS 'Exact minimum of the sketched values';
COMMENT ON FUNCTION chronicle.max_val(chronicle.quantile_sketch) IS 'Exact maximum of the sketched values';
COMMENT ON FUNCTION chronicle.relative_error(chronicle.quantile_sketch) IS
  'Relative error bound of every percentile estimate of this sketch';
COMMENT ON FUNCTION chronicle.histogram(chronicle.quantile_sketch) IS
  'The sketch''s non-empty buckets (lower, upper, count) in ascending order, for plotting';

COMMENT ON FUNCTION chronicle.sketch_trans(internal, double precision) IS 'percentile_agg support: adds a value';
COMMENT ON FUNCTION chronicle.sketch_trans_with_error(internal, double precision, double precision) IS 'percentile_agg support: adds a value';
COMMENT ON FUNCTION chronicle.sketch_inv(internal, double precision) IS 'percentile_agg support: removes a value (window frames)';
COMMENT ON FUNCTION chronicle.sketch_inv_with_error(internal, double precision, double precision) IS 'percentile_agg support: removes a value (window frames)';
COMMENT ON FUNCTION chronicle.percentile_trans(internal, double precision, double precision) IS 'approx_percentile support: adds a value';
COMMENT ON FUNCTION chronicle.percentile_inv(internal, double precision, double precision) IS 'approx_percentile support: removes a value (window frames)';
COMMENT ON FUNCTION chronicle.percentiles_trans(internal, double precision, double precision[]) IS 'approx_percentiles support: adds a value';
COMMENT ON FUNCTION chronicle.percentiles_inv(internal, double precision, double precision[]) IS 'approx_percentiles support: removes a value (window frames)';
COMMENT ON FUNCTION chronicle.sketch_final(internal) IS 'Sketch aggregate support: the sketch, NULL if no values';
COMMENT ON FUNCTION chronicle.percentile_final(internal) IS 'approx_percentile support: the estimate';
COMMENT ON FUNCTION chronicle.percentiles_final(internal) IS 'approx_percentiles support: the estimates';
COMMENT ON FUNCTION chronicle.sketch_state_trans(chronicle.sketch_state, double precision) IS 'percentile_agg support: adds a value';
COMMENT ON FUNCTION chronicle.sketch_state_trans_with_error(chronicle.sketch_state, double precision, double precision) IS 'percentile_agg support: adds a value';
COMMENT ON FUNCTION chronicle.percentile_state_trans(chronicle.sketch_state, double precision, double precision) IS 'approx_percentile support: adds a value';
COMMENT ON FUNCTION chronicle.percentiles_state_trans(chronicle.sketch_state, double precision, double precision[]) IS 'approx_percentiles support: adds a value';
COMMENT ON FUNCTION chronicle.rollup_state_trans(chronicle.sketch_state, chronicle.quantile_sketch) IS 'rollup support: merges a sketch';
COMMENT ON FUNCTION chronicle.sketch_state_combine(chronicle.sketch_state, chronicle.sketch_state) IS 'Sketch aggregate support: merges two partial states (parallel plans, Citus workers)';
COMMENT ON FUNCTION chronicle.sketch_state_final(chronicle.sketch_state) IS 'Sketch aggregate support: the sketch, NULL if no values';
COMMENT ON FUNCTION chronicle.percentile_state_final(chronicle.sketch_state) IS 'approx_percentile support: the estimate';
COMMENT ON FUNCTION chronicle.percentiles_state_final(chronicle.sketch_state) IS 'approx_percentiles support: the estimates';
