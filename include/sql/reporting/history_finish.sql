UPDATE reporting.{{ history_table | ident }}
SET status = %(status)s,
    action = %(action)s,
    finish_time = clock_timestamp(),
    duration_seconds = round(extract(epoch FROM clock_timestamp() - start_time))::integer,
    records_processed = %(records)s,
    bytes_processed = %(bytes)s,
    consecutive_failures = CASE WHEN %(status)s::varchar IN ('error', 'rejected') THEN consecutive_failures + 1
                                WHEN %(status)s::varchar = 'success' THEN 0 ELSE consecutive_failures END,
    errors = %(errors)s,
    updated_at = clock_timestamp()
WHERE id = %(history_id)s
RETURNING consecutive_failures, duration_seconds
