SELECT pg_advisory_unlock(hashtext(%(history_table)s), mod(%(history_id)s::bigint, 2147483647)::integer)
