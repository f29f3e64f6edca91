-- One rebuild of a view at a time, across runs and workers (released at commit).
SELECT pg_advisory_xact_lock(hashtextextended(%(table_name)s, 0))
