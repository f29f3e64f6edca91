-- Attempts still marked running (of one view, or all), oldest first.
SELECT id, run_id, table_name, start_time
FROM reporting.{{ history_table | ident }}
WHERE status = 'running' AND (%(table_name)s::text IS NULL OR table_name = %(table_name)s)
ORDER BY id
