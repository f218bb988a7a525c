-- 0.6.0: the sketch aggregates keep their state in chronicle.sketch_state, which Citus can
-- ship (docs/citus.md#percentiles). The type and its functions are new (their
-- definitions are those pgrx generates for a fresh install); the aggregates are replaced
-- in place (CREATE OR REPLACE AGGREGATE keeps what depends on them); the support
-- functions only the internal state of the plain aggregates used go.
CREATE TYPE chronicle.sketch_state;
CREATE FUNCTION chronicle.sketch_state_in(
	"input" cstring
) RETURNS chronicle.sketch_state
IMMUTABLE STRICT PARALLEL SAFE
LANGUAGE c
AS 'MODULE_PATHNAME', 'sketch_state_in_wrapper';
CREATE FUNCTION chronicle.sketch_state_out(
	"state" chronicle.sketch_state
) RETURNS cstring
IMMUTABLE STRICT PARALLEL SAFE
LANGUAGE c
AS 'MODULE_PATHNAME', 'sketch_state_out_wrapper';
CREATE FUNCTION chronicle.sketch_state_recv(
	"buffer" internal
) RETURNS chronicle.sketch_state
IMMUTABLE STRICT PARALLEL SAFE
LANGUAGE c
AS 'MODULE_PATHNAME', 'sketch_state_recv_wrapper';
CREATE FUNCTION chronicle.sketch_state_send(
	"state" chronicle.sketch_state
) RETURNS bytea
IMMUTABLE STRICT PARALLEL SAFE
LANGUAGE c
AS 'MODULE_PATHNAME', 'sketch_state_send_wrapper';
CREATE FUNCTION chronicle.sketch_state_trans(
	"state" chronicle.sketch_state,
	"value" double precision
) RETURNS chronicle.sketch_state
IMMUTABLE PARALLEL SAFE
LANGUAGE c
AS 'MODULE_PATHNAME', 'sketch_state_trans_wrapper';
CREATE FUNCTION chronicle.sketch_state_trans_with_error(
	"state" chronicle.sketch_state,
	"value" double precision,
	"relative_error" double precision
) RETURNS chronicle.sketch_state
IMMUTABLE PARALLEL SAFE
LANGUAGE c
AS 'MODULE_PATHNAME', 'sketch_state_trans_with_error_wrapper';
CREATE FUNCTION chronicle.percentile_state_trans(
	"state" chronicle.sketch_state,
	"value" double precision,
	"quantile" double precision
) RETURNS chronicle.sketch_state
IMMUTABLE PARALLEL SAFE
LANGUAGE c
AS 'MODULE_PATHNAME', 'percentile_state_trans_wrapper';
CREATE FUNCTION chronicle.percentiles_state_trans(
	"state" chronicle.sketch_state,
	"value" double precision,
	"quantiles" double precision[]
) RETURNS chronicle.sketch_state
IMMUTABLE PARALLEL SAFE
LANGUAGE c
AS 'MODULE_PATHNAME', 'percentiles_state_trans_wrapper';
CREATE FUNCTION chronicle.rollup_state_trans(
	"state" chronicle.sketch_state,
	"sketch" chronicle.quantile_sketch
) RETURNS chronicle.sketch_state
IMMUTABLE PARALLEL SAFE
LANGUAGE c
AS 'MODULE_PATHNAME', 'rollup_state_trans_wrapper';
CREATE FUNCTION chronicle.sketch_state_combine(
	"first" chronicle.sketch_state,
	"second" chronicle.sketch_state
) RETURNS chronicle.sketch_state
IMMUTABLE STRICT PARALLEL SAFE
LANGUAGE c
AS 'MODULE_PATHNAME', 'sketch_state_combine_wrapper';
CREATE FUNCTION chronicle.sketch_state_final(
	"state" chronicle.sketch_state
) RETURNS chronicle.quantile_sketch
IMMUTABLE STRICT PARALLEL SAFE
LANGUAGE c
AS 'MODULE_PATHNAME', 'sketch_state_final_wrapper';
CREATE FUNCTION chronicle.percentile_state_final(
	"state" chronicle.sketch_state
) RETURNS double precision
IMMUTABLE STRICT PARALLEL SAFE
LANGUAGE c
AS 'MODULE_PATHNAME', 'percentile_state_final_wrapper';
CREATE FUNCTION chronicle.percentiles_state_final(
	"state" chronicle.sketch_state
) RETURNS double precision[]
IMMUTABLE STRICT PARALLEL SAFE
LANGUAGE c
AS 'MODULE_PATHNAME', 'percentiles_state_final_wrapper';
