-- Enqueueing, step 2 (docs/export-queue.md): behind the head this transaction has locked.
-- The head is marked as having exports behind it: whoever finishes it then looks for the
-- next one (and one that finds the mark unset need not look), and a finisher at
-- REPEATABLE READ that could not see this export fails to serialize instead of stranding
-- it. Then in latest mode the newest waiting export takes the new content if it is a
-- latest one, and otherwise the export is added as waiting. Parameters as in
-- enqueue_as_head.sql.
WITH head AS (
  UPDATE chronicle.gist_export_queue q SET has_waiting = true
   WHERE q.gist_id = $1 AND q.file_name = $2 AND q.stage = 'head'
  RETURNING q.id),
newest_waiting AS (
  SELECT w.id, w.mode
    FROM chronicle.gist_export_queue w
   WHERE w.gist_id = $1 AND w.file_name = $2 AND w.stage = 'waiting'
   ORDER BY w.id DESC
   LIMIT 1),
replaced AS (
  UPDATE chronicle.gist_export_queue q
     SET operation = $3, entity_type = $4, entity_id = $5, version = $6, checksum = $7,
         payload = $8, enqueued_at = now()
    FROM newest_waiting n
   WHERE q.id = n.id AND n.mode = 'latest' AND $9 = 'latest'
  RETURNING q.id)
INSERT INTO chronicle.gist_export_queue
       (gist_id, file_name, operation, mode, entity_type, entity_id, version, checksum, payload, status)
SELECT $1, $2, $3, $9, $4, $5, $6, $7, $8,
       -- The head cannot have gone while this transaction holds its lock; if it had, the
       -- export would become the head (or meet the one there).
       CASE WHEN EXISTS (SELECT FROM head) THEN 'waiting' ELSE 'pending' END
 WHERE NOT EXISTS (SELECT FROM replaced)
