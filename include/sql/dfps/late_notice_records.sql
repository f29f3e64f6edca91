-- Every recorded send of the period, oldest first (pending: the SMTP outcome was never recorded).
SELECT run_id, status, recorded_at, notified_at FROM dfps.dps_late_notices
WHERE period = %(period)s
ORDER BY recorded_at
