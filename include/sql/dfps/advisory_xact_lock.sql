-- Held until the transaction ends (or its session dies: a killed task frees it).
SELECT pg_advisory_xact_lock(%(lock_key)s)
