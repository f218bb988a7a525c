-- pg_chronicle 0.4.0 -> 0.4.1: the export queue's functions run with jit off.
--
-- They hold the planner to index scans with enable_* = off, and a disabled plan node is
-- costed at 1e10, past jit_above_cost: on a server with JIT available every claim, ack,
-- fail and release compiled its query (192 ms for an ack of ten exports against 4 ms,
-- PostgreSQL 17). sql/export_queue.sql sets the same, last in each SET list, so the
-- catalog of an updated database equals a fresh install's.
\echo Use "ALTER EXTENSION pg_chronicle UPDATE TO '0.4.1'" to load this file. \quit

ALTER FUNCTION chronicle.export_claim(integer, interval) SET jit = off;
ALTER FUNCTION chronicle.export_advance(text[], text[]) SET jit = off;
ALTER FUNCTION chronicle.export_ack(bigint, uuid, text) SET jit = off;
ALTER FUNCTION chronicle.export_ack_all(bigint[], uuid[], text) SET jit = off;
ALTER FUNCTION chronicle.export_fail(bigint, uuid, text, interval) SET jit = off;
ALTER FUNCTION chronicle.export_release(bigint, uuid, interval) SET jit = off;
