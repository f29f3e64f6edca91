-- The view's status, when it still shows the abandoned attempt as running.
UPDATE reporting.{{ status_table | ident }}
SET status = 'abandoned',
    consecutive_failures = %(consecutive_failures)s,
    last_errors = %(errors)s,
    updated_at = clock_timestamp()
WHERE table_name = %(table_name)s AND status = 'running' AND start_time = %(start_time)s
