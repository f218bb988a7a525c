-- pg_chronicle 0.5.0 -> 0.6.0. tests/integration/upgrade.sh checks that the result is
-- exactly a fresh install. Definitions are not copied here: whole files of sql/ are
-- included (build.rs), and the step ends by pointing every C function at 0.6.0's library.
\echo Use "ALTER EXTENSION pg_chronicle UPDATE TO '0.6.0'" to load this file. \quit

-- Internal helpers carry a leading underscore; nobody but the owner may call them.
ALTER FUNCTION chronicle.export_advance(text[], text[]) RENAME TO _export_advance;
ALTER FUNCTION chronicle.export_stale_lease(bigint) RENAME TO _export_stale_lease;

-- The queue's functions, which now call the helpers by their new names.
\ir ../export_queue.sql
ALTER FUNCTION chronicle.refresh_buckets(timestamptz[], text[]) RENAME TO _refresh_buckets;
\ir ../metrics_refresh.sql

-- Catalog comments that say what each thing is.
\ir 0.6.0-comments.sql
