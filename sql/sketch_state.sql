-- chronicle.sketch_state, the sketch aggregates' state (src/sketch/state.rs), once its
-- I/O functions exist. An upgrade step includes this file (sql/upgrades/).
CREATE TYPE chronicle.sketch_state (
    INPUT = chronicle.sketch_state_in,
    OUTPUT = chronicle.sketch_state_out,
    RECEIVE = chronicle.sketch_state_recv,
    SEND = chronicle.sketch_state_send,
    INTERNALLENGTH = VARIABLE,
    STORAGE = extended
);
COMMENT ON TYPE chronicle.sketch_state IS
  'The running state of the sketch aggregates (a quantile sketch and the quantiles asked for), as a type Citus can ship between nodes. Text form q=<quantiles>;qsketch:<base64>';
COMMENT ON FUNCTION chronicle.sketch_state_in(cstring) IS 'Text input of sketch_state, strictly validated';
COMMENT ON FUNCTION chronicle.sketch_state_out(chronicle.sketch_state) IS 'Text output of sketch_state';
COMMENT ON FUNCTION chronicle.sketch_state_recv(internal) IS 'Binary input of sketch_state, strictly validated';
COMMENT ON FUNCTION chronicle.sketch_state_send(chronicle.sketch_state) IS 'Binary output of sketch_state';
