-- Where the supported majors differ, and what pg_chronicle does about it. Two expected
-- outputs: majors.out for PostgreSQL 15, majors_1.out for 17 and 18.
SELECT current_setting('server_version_num')::int / 10000 >= 17 AS has_maintain_privilege;

-- 17 added the MAINTAIN privilege on tables (VACUUM, ANALYZE, CLUSTER, REINDEX, LOCK
-- TABLE). finalize.sql's REVOKE ALL takes it from PUBLIC with the rest and nothing grants
-- it back: of the Supabase roles, none may maintain a chronicle table; the owner may.
-- (15 has no such privilege: the question is an error there.)
SELECT r.rolname,
       count(*) FILTER (WHERE has_table_privilege(r.oid, c.oid, 'MAINTAIN')) AS maintains,
       count(*) AS of_tables
  FROM pg_roles r
 CROSS JOIN pg_class c
 WHERE c.relnamespace = 'chronicle'::regnamespace AND c.relkind = 'r'
   AND r.rolname IN ('anon', 'authenticated', 'service_role', 'postgres')
 GROUP BY r.rolname ORDER BY r.rolname;
-- So service_role's VACUUM and REINDEX skip or refuse them, in each major's words.
SET ROLE service_role;
VACUUM chronicle.state_versions;
SELECT regress.error_of('REINDEX TABLE chronicle.state_versions');
RESET ROLE;

-- The settings are superuser-only (SUSET). Since 15 a superuser may hand one to a role
-- with GRANT SET ON PARAMETER, and take it back; the same on every major. (Loaded first:
-- before the library defines a setting, SET makes a placeholder, which PostgreSQL checks
-- against the role that set it when the library loads. A call loads it: each release's
-- library has a name of its own.)
DO $$ BEGIN PERFORM chronicle.current_user_id(); END $$;
SET ROLE service_role;
SELECT regress.error_of('SET chronicle.max_state_bytes = 1000');
RESET ROLE;
GRANT SET ON PARAMETER chronicle.max_state_bytes TO service_role;
SET ROLE service_role;
SET chronicle.max_state_bytes = 1000;
SHOW chronicle.max_state_bytes;
SELECT regress.error_of($$SELECT chronicle.put_state('cfg', 'big', jsonb_build_object('x', repeat('y', 2000)))$$);
RESET chronicle.max_state_bytes;
RESET ROLE;
REVOKE SET ON PARAMETER chronicle.max_state_bytes FROM service_role;
SET ROLE service_role;
SELECT regress.error_of('SET chronicle.max_state_bytes = 1000');
RESET ROLE;
