-- Held until the transaction ends (or its session dies: a killed task frees it); named as the
-- bundle's other advisory locks are (migrations, reporting's rebuilds): a 64-bit hash of the name.
SELECT pg_advisory_xact_lock(hashtextextended(%(lock_name)s, 0))
