-- Objects every other part of pg_chronicle builds on. Runs first.

COMMENT ON SCHEMA chronicle IS
  'pg_chronicle: versioned JSONB state, command executions and metrics, and the Gist export queue';

-- Who is acting: Supabase's auth.uid() when that function exists, otherwise the `sub`
-- claim PostgREST puts in request.jwt.claims. NULL when there is no (valid) user, so a
-- malformed claim never passes for somebody else.
CREATE FUNCTION chronicle.current_user_id() RETURNS uuid
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  sub text;
BEGIN
  IF to_regprocedure('auth.uid()') IS NOT NULL THEN
    RETURN auth.uid();
  END IF;
  sub := coalesce(
    nullif(current_setting('request.jwt.claim.sub', true), ''),
    nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub');
  IF sub ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' THEN
    RETURN sub::uuid;
  END IF;
  RETURN NULL;
END
$$;
COMMENT ON FUNCTION chronicle.current_user_id() IS
  'The acting user: auth.uid() when it exists (Supabase), else the uuid in the sub claim of request.jwt.claims (PostgREST), else NULL';
