-- The last history row of each view in a run (custom views in the Django table, canned in ours).
SELECT DISTINCT ON (table_name) table_name, status, action, errors, records_processed
FROM (
    SELECT table_name, status, action, errors, records_processed, start_time, id
    FROM reporting.seeder_run_history WHERE run_id = %(run_id)s
    UNION ALL
    SELECT table_name, status, action, errors, records_processed, start_time, id
    FROM reporting.seeder_canned_run_history WHERE run_id = %(run_id)s
) AS attempts
ORDER BY table_name, start_time DESC, id DESC
