-- Taken only when free (and released at once by attempt_unlock.sql): the attempt is gone.
SELECT pg_try_advisory_lock(hashtext(%(history_table)s), mod(%(history_id)s::bigint, 2147483647)::integer)
