-- An attempt whose task died mid-refresh (killed, lost its worker): closed as abandoned,
-- one more consecutive failure; only if it is still running.
UPDATE reporting.{{ history_table | ident }}
SET status = 'abandoned',
    finish_time = clock_timestamp(),
    duration_seconds = round(extract(epoch FROM clock_timestamp() - start_time))::integer,
    consecutive_failures = consecutive_failures + 1,
    errors = %(errors)s,
    updated_at = clock_timestamp()
WHERE id = %(history_id)s AND status = 'running'
RETURNING consecutive_failures
