-- Invariants of chronicle.state_store: one row per invariant with its number of
-- violations; every count must be 0. Shared by the integration tests and bench/.
WITH v AS (
  SELECT entity_type, entity_id, version, valid_from, valid_to,
         lead(version) OVER w AS next_version,
         lead(valid_from) OVER w AS next_from
    FROM chronicle.state_store
  WINDOW w AS (PARTITION BY entity_type, entity_id ORDER BY version)
), per_entity AS (
  SELECT entity_type, entity_id, count(*) AS versions, max(version) AS last_version,
         count(*) FILTER (WHERE valid_to IS NULL) AS current_versions
    FROM chronicle.state_store GROUP BY 1, 2
)
SELECT 'versions are 1..n without gap or duplicate' AS invariant,
       count(*) FILTER (WHERE versions <> last_version) AS violations FROM per_entity
UNION ALL
SELECT 'at most one current version', count(*) FILTER (WHERE current_versions > 1) FROM per_entity
UNION ALL
SELECT 'only the last version can be current',
       count(*) FILTER (WHERE valid_to IS NULL AND next_version IS NOT NULL) FROM v
UNION ALL
SELECT 'valid_from strictly increases with version',
       count(*) FILTER (WHERE next_from <= valid_from) FROM v
UNION ALL
SELECT 'valid_to of version k is valid_from of k+1 (or earlier, when deleted in between)',
       count(*) FILTER (WHERE next_from IS NOT NULL AND (valid_to IS NULL OR valid_to > next_from)) FROM v
UNION ALL
SELECT 'head agrees with history (last version, current checksum)',
       (SELECT count(*)
          FROM chronicle.state_entities e
          FULL JOIN per_entity p USING (entity_type, entity_id)
          LEFT JOIN chronicle.state_store c
            ON c.entity_type = e.entity_type AND c.entity_id = e.entity_id AND c.valid_to IS NULL
         WHERE e.last_version IS DISTINCT FROM p.last_version
                AND NOT (e.last_version = 0 AND p.last_version IS NULL)
            OR e.current_checksum IS DISTINCT FROM c.checksum
            OR (c.version IS NOT NULL AND c.version <> e.last_version));
