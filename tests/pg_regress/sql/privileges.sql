-- Who may do what, as reviewed. Every object of the extension and every privilege on it
-- is listed here; a new object, or a new grant, changes this output and fails the suite
-- until it is reviewed and the expected file updated. The roles are a superuser install
-- with Supabase's roles present; tests/integration/trusted_install.sh covers the owner of
-- a trusted install.

-- Functions that run as their owner (the bootstrap superuser), with their pinned
-- settings. Each is SECURITY DEFINER because its callers must change what they have no
-- right to change themselves (the storage, the queue, the rollups), and each reaches only
-- the extension's own objects, on a search_path of pg_catalog and pg_temp.
SELECT p.oid::regprocedure AS security_definer_function, p.proconfig
  FROM pg_proc p
 WHERE p.pronamespace = 'chronicle'::regnamespace AND p.prosecdef
 ORDER BY p.oid::regprocedure::text COLLATE "C";

-- None of them may leave the search_path open.
SELECT p.oid::regprocedure AS definer_without_pinned_search_path
  FROM pg_proc p
 WHERE p.pronamespace = 'chronicle'::regnamespace AND p.prosecdef
   AND NOT coalesce('search_path=pg_catalog, pg_temp' = ANY (p.proconfig), false);

-- Privileges on the schema, relations, columns, sequences and functions, one row per
-- grantee and object. PUBLIC is written as "public".
WITH acl AS (
  SELECT 'schema' AS kind, n.nspname::text AS object, n.nspacl AS acl, n.nspowner AS owner
    FROM pg_namespace n WHERE n.nspname = 'chronicle'
  UNION ALL
  SELECT CASE c.relkind WHEN 'r' THEN 'table' WHEN 'v' THEN 'view' WHEN 'S' THEN 'sequence' ELSE c.relkind::text END,
         c.oid::regclass::text, c.relacl, c.relowner
    FROM pg_class c WHERE c.relnamespace = 'chronicle'::regnamespace AND c.relkind IN ('r', 'v', 'S', 'm', 'p', 'f')
  UNION ALL
  SELECT 'column', a.attrelid::regclass::text || '.' || a.attname, a.attacl, c.relowner
    FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
   WHERE c.relnamespace = 'chronicle'::regnamespace AND a.attnum > 0 AND a.attacl IS NOT NULL
  UNION ALL
  SELECT CASE p.prokind WHEN 'a' THEN 'aggregate' ELSE 'function' END, p.oid::regprocedure::text, p.proacl, p.proowner
    FROM pg_proc p WHERE p.pronamespace = 'chronicle'::regnamespace
  UNION ALL
  SELECT 'type', t.oid::regtype::text, t.typacl, t.typowner
    FROM pg_type t WHERE t.typnamespace = 'chronicle'::regnamespace AND t.typtype <> 'c' AND t.typelem = 0
)
SELECT * FROM (
SELECT kind, object,
       CASE WHEN e.grantee = 0 THEN 'public' ELSE e.grantee::regrole::text END AS role,
       string_agg(e.privilege_type || CASE WHEN e.is_grantable THEN '*' ELSE '' END, ','
                  ORDER BY e.privilege_type) AS privileges
  FROM acl, aclexplode(coalesce(acl.acl, acldefault(CASE kind WHEN 'schema' THEN 'n' WHEN 'function' THEN 'f'
                                                        WHEN 'aggregate' THEN 'f' WHEN 'type' THEN 'T'
                                                        WHEN 'sequence' THEN 's' ELSE 'r' END::"char", acl.owner))) e
 WHERE e.grantee <> acl.owner
 GROUP BY kind, object, role) privileges
 ORDER BY kind, object COLLATE "C", role COLLATE "C";

-- Nobody but the owner may attach triggers, reference, truncate, or write the storage,
-- queue and rollup tables: checked directly, for every role that exists here (but the
-- predefined pg_* roles, which only a superuser grants).
SELECT r.rolname, c.oid::regclass AS relation, p.privilege
  FROM pg_roles r
 CROSS JOIN pg_class c
 CROSS JOIN unnest(ARRAY['TRIGGER', 'REFERENCES', 'TRUNCATE', 'INSERT', 'UPDATE', 'DELETE']) AS p(privilege)
 WHERE c.relnamespace = 'chronicle'::regnamespace AND c.relkind IN ('r', 'v')
   AND NOT r.rolsuper AND r.oid <> c.relowner AND r.rolname !~ '^pg_'
   AND has_table_privilege(r.oid, c.oid, p.privilege)
   AND NOT (p.privilege IN ('INSERT', 'UPDATE', 'DELETE')
            AND c.oid IN ('chronicle.command_executions'::regclass, 'chronicle.gist_targets'::regclass))
   AND NOT (p.privilege = 'INSERT' AND c.oid = 'chronicle.state_store'::regclass)
 ORDER BY 1, 2::text, 3;

-- Every object has a comment.
SELECT pg_describe_object(d.classid, d.objid, d.objsubid) AS uncommented
  FROM pg_depend d
 WHERE d.refclassid = 'pg_extension'::regclass
   AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'pg_chronicle')
   AND d.deptype = 'e'
   AND obj_description(d.objid, (SELECT relname FROM pg_class WHERE oid = d.classid)) IS NULL
   AND d.classid IN ('pg_class'::regclass, 'pg_proc'::regclass, 'pg_type'::regclass)
   AND NOT EXISTS (SELECT FROM pg_type t WHERE d.classid = 'pg_type'::regclass AND t.oid = d.objid
                                              AND (t.typelem <> 0 OR t.typrelid <> 0))
 ORDER BY 1;
