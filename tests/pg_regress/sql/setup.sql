-- Creates the extension once for the whole suite, plus a helper the tests use to show
-- an error's SQLSTATE and message as a value.
CREATE EXTENSION pg_chronicle;
SELECT extname, extnamespace::regnamespace AS schema, extrelocatable
  FROM pg_extension WHERE extname = 'pg_chronicle';

CREATE SCHEMA regress;
CREATE FUNCTION regress.error_of(statement text) RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE statement;
  RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
  RETURN SQLSTATE || ': ' || SQLERRM;
END
$$;
-- The row-level security tests call it as other roles.
GRANT USAGE ON SCHEMA regress TO PUBLIC;
