-- The slice's transaction-scoped lock (as etl_bundle.tec.load.lock_slice takes it): the
-- quality gate's next statement reads while no load of this day and cycle can write.
SELECT pg_advisory_xact_lock(hashtext(%(lock_key)s))
