-- The attempt's end, as the original: success sets the duration and clears the errors;
-- an error keeps the last duration. query_hash changes only when a build succeeded.
UPDATE reporting.{{ status_table | ident }}
SET status = %(status)s,
    duration_seconds = CASE WHEN %(status)s::varchar = 'success' THEN %(duration_seconds)s ELSE duration_seconds END,
    consecutive_failures = %(consecutive_failures)s,
    last_errors = %(errors)s,
    query_hash = COALESCE(%(query_hash)s, query_hash),
    updated_at = clock_timestamp()
WHERE table_name = %(table_name)s
