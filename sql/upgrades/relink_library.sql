
-- The end of every step to a new release (appended by build.rs): the extension's C
-- functions that still name another release's library are defined again, unchanged
-- except for the library, @LIBRARY@. CREATE OR REPLACE keeps each function's OID,
-- owner, privileges, comment and dependants. Until this runs a database keeps calling
-- its own release's library; from here on, this release's.
DO $relink$
DECLARE
    function_oid oid;
BEGIN
    FOR function_oid IN
        SELECT p.oid
          FROM pg_catalog.pg_proc p
          JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass
                                      AND d.objid = p.oid AND d.deptype = 'e'
         WHERE d.refclassid = 'pg_catalog.pg_extension'::pg_catalog.regclass
           AND d.refobjid = (SELECT e.oid FROM pg_catalog.pg_extension e WHERE e.extname = 'pg_chronicle')
           AND p.prolang = (SELECT l.oid FROM pg_catalog.pg_language l WHERE l.lanname = 'c')
           AND p.probin IS DISTINCT FROM '@LIBRARY@'
    LOOP
        -- pg_get_functiondef writes the library as AS '<probin>', '<symbol>'.
        EXECUTE pg_catalog.replace(pg_catalog.pg_get_functiondef(function_oid),
                                   pg_catalog.format('AS %L, ', (SELECT probin FROM pg_catalog.pg_proc WHERE oid = function_oid)),
                                   pg_catalog.format('AS %L, ', '@LIBRARY@'));
    END LOOP;
END
$relink$;
