-- Held by the attempt's own session while it runs: a `running` history row whose lock is
-- free belongs to an attempt that died (its session ended).
SELECT pg_advisory_lock(hashtext(%(history_table)s), mod(%(history_id)s::bigint, 2147483647)::integer)
