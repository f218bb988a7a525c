-- The 30-property configuration schema of bench/sql/config_schema.json as hand-written
-- PL/pgSQL, the way a team without JSON Schema in the database checks it (a CHECK
-- constraint calling this). Same rules; the first failure ends the check.
CREATE FUNCTION check_config(d jsonb) RETURNS boolean LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
  k text;
  v jsonb;
BEGIN
  IF jsonb_typeof(d) <> 'object' THEN RETURN false; END IF;
  IF NOT d ?& ARRAY['name', 'version', 'enabled', 'max_parallel', 'timeout_ms', 'owner', 'environment', 'region', 'log_level', 'checksum'] THEN RETURN false; END IF;
  FOR k, v IN SELECT * FROM jsonb_each(d) LOOP
    CASE k
      WHEN 'name' THEN IF jsonb_typeof(v) <> 'string'
                       OR length(v #>> '{}') < 1
                       OR length(v #>> '{}') > 100 THEN RETURN false; END IF;
      WHEN 'version' THEN IF jsonb_typeof(v) <> 'string'
                       OR (v #>> '{}') !~ '^[0-9]+\.[0-9]+\.[0-9]+$' THEN RETURN false; END IF;
      WHEN 'enabled' THEN IF jsonb_typeof(v) <> 'boolean' THEN RETURN false; END IF;
      WHEN 'max_parallel' THEN IF jsonb_typeof(v) <> 'number' OR (v::text)::numeric <> trunc((v::text)::numeric)
                       OR (v::text)::numeric < 1
                       OR (v::text)::numeric > 64 THEN RETURN false; END IF;
      WHEN 'timeout_ms' THEN IF jsonb_typeof(v) <> 'number' OR (v::text)::numeric <> trunc((v::text)::numeric)
                       OR (v::text)::numeric < 0
                       OR (v::text)::numeric > 3600000 THEN RETURN false; END IF;
      WHEN 'retries' THEN IF jsonb_typeof(v) <> 'number' OR (v::text)::numeric <> trunc((v::text)::numeric)
                       OR (v::text)::numeric < 0
                       OR (v::text)::numeric > 10 THEN RETURN false; END IF;
      WHEN 'region' THEN IF NOT (v #>> '{}') = ANY (ARRAY['us-east', 'us-west', 'eu-central', 'ap-south']) OR jsonb_typeof(v) <> 'string' THEN RETURN false; END IF;
      WHEN 'owner' THEN IF jsonb_typeof(v) <> 'string'
                       OR length(v #>> '{}') < 1 THEN RETURN false; END IF;
      WHEN 'team' THEN IF jsonb_typeof(v) <> 'string'
                       OR length(v #>> '{}') > 100 THEN RETURN false; END IF;
      WHEN 'description' THEN IF jsonb_typeof(v) <> 'string'
                       OR length(v #>> '{}') > 1000 THEN RETURN false; END IF;
      WHEN 'priority' THEN IF jsonb_typeof(v) <> 'number' OR (v::text)::numeric <> trunc((v::text)::numeric)
                       OR (v::text)::numeric < 1
                       OR (v::text)::numeric > 5 THEN RETURN false; END IF;
      WHEN 'cpu_limit' THEN IF jsonb_typeof(v) <> 'number'
                       OR (v::text)::numeric <= 0
                       OR (v::text)::numeric > 64 THEN RETURN false; END IF;
      WHEN 'memory_mb' THEN IF jsonb_typeof(v) <> 'number' OR (v::text)::numeric <> trunc((v::text)::numeric)
                       OR (v::text)::numeric < 64
                       OR (v::text)::numeric > 65536 THEN RETURN false; END IF;
      WHEN 'log_level' THEN IF NOT (v #>> '{}') = ANY (ARRAY['debug', 'info', 'warn', 'error']) OR jsonb_typeof(v) <> 'string' THEN RETURN false; END IF;
      WHEN 'tags' THEN IF jsonb_typeof(v) <> 'array'
                       OR jsonb_array_length(v) > 20
                       OR EXISTS (SELECT FROM jsonb_array_elements(v) e WHERE jsonb_typeof(e) <> 'string')
                       OR (SELECT count(DISTINCT e) FROM jsonb_array_elements(v) e) <> jsonb_array_length(v) THEN RETURN false; END IF;
      WHEN 'created_by' THEN IF jsonb_typeof(v) <> 'string' THEN RETURN false; END IF;
      WHEN 'environment' THEN IF NOT (v #>> '{}') = ANY (ARRAY['dev', 'staging', 'prod']) OR jsonb_typeof(v) <> 'string' THEN RETURN false; END IF;
      WHEN 'cache_ttl_s' THEN IF jsonb_typeof(v) <> 'number' OR (v::text)::numeric <> trunc((v::text)::numeric)
                       OR (v::text)::numeric < 0 THEN RETURN false; END IF;
      WHEN 'batch_size' THEN IF jsonb_typeof(v) <> 'number' OR (v::text)::numeric <> trunc((v::text)::numeric)
                       OR (v::text)::numeric < 1
                       OR (v::text)::numeric > 10000 THEN RETURN false; END IF;
      WHEN 'queue' THEN IF jsonb_typeof(v) <> 'string'
                       OR length(v #>> '{}') > 100 THEN RETURN false; END IF;
      WHEN 'endpoint' THEN IF jsonb_typeof(v) <> 'string'
                       OR length(v #>> '{}') > 200 THEN RETURN false; END IF;
      WHEN 'rate_limit' THEN IF jsonb_typeof(v) <> 'number'
                       OR (v::text)::numeric < 0 THEN RETURN false; END IF;
      WHEN 'dry_run' THEN IF jsonb_typeof(v) <> 'boolean' THEN RETURN false; END IF;
      WHEN 'notify' THEN IF jsonb_typeof(v) <> 'boolean' THEN RETURN false; END IF;
      WHEN 'channel' THEN IF jsonb_typeof(v) <> 'string'
                       OR length(v #>> '{}') > 100 THEN RETURN false; END IF;
      WHEN 'threshold' THEN IF jsonb_typeof(v) <> 'number'
                       OR (v::text)::numeric < 0
                       OR (v::text)::numeric > 1 THEN RETURN false; END IF;
      WHEN 'window_s' THEN IF jsonb_typeof(v) <> 'number' OR (v::text)::numeric <> trunc((v::text)::numeric)
                       OR (v::text)::numeric < 1
                       OR (v::text)::numeric > 86400 THEN RETURN false; END IF;
      WHEN 'labels' THEN IF jsonb_typeof(v) <> 'object'
                       OR (SELECT count(*) FROM jsonb_each(v)) > 10
                       OR EXISTS (SELECT FROM jsonb_each(v) e WHERE jsonb_typeof(e.value) <> 'string') THEN RETURN false; END IF;
      WHEN 'schedule' THEN IF jsonb_typeof(v) <> 'string'
                       OR length(v #>> '{}') > 100 THEN RETURN false; END IF;
      WHEN 'checksum' THEN IF jsonb_typeof(v) <> 'string'
                       OR (v #>> '{}') !~ '^[0-9a-f]{8}$' THEN RETURN false; END IF;
      ELSE RETURN false;
    END CASE;
  END LOOP;
  RETURN true;
END
$$;

-- A document of about 1 kB meeting the schema, different on every call.
CREATE FUNCTION config_doc(writer int) RETURNS jsonb LANGUAGE sql VOLATILE AS $$
  SELECT jsonb_build_object(
    'name', 'service-' || writer,
    'version', '1.4.' || (random() * 100)::int,
    'enabled', true,
    'max_parallel', 1 + (random() * 63)::int,
    'timeout_ms', (random() * 60000)::int,
    'retries', 3,
    'region', 'eu-central',
    'owner', 'platform-team',
    'team', 'infrastructure',
    'description', repeat('A configuration document of realistic size. ', 9),
    'priority', 2,
    'cpu_limit', 2.5,
    'memory_mb', 2048,
    'log_level', 'info',
    'tags', jsonb_build_array('prod', 'critical', 'batch'),
    'created_by', 'deploy-bot',
    'environment', 'prod',
    'cache_ttl_s', 300,
    'batch_size', 500,
    'queue', 'default',
    'endpoint', 'https://api.example.com/v1/jobs',
    'rate_limit', random() * 1000,
    'dry_run', false,
    'notify', true,
    'channel', '#alerts',
    'threshold', random(),
    'window_s', 3600,
    'labels', jsonb_build_object('cost-center', 'eng', 'tier', 'gold'),
    'schedule', '*/5 * * * *',
    'checksum', substr(md5(random()::text), 1, 8)
  )
$$;
