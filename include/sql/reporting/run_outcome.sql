-- The last history row of each view in a run.
SELECT DISTINCT ON (table_name) table_name, status, action, errors, records_processed
FROM reporting.seeder_run_history
WHERE run_id = %(run_id)s
ORDER BY table_name, id DESC
