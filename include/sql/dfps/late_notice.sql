INSERT INTO dfps.dps_late_notices (period, run_id)
VALUES (%(period)s, %(run_id)s)
ON CONFLICT (period, run_id) DO NOTHING
RETURNING notified_at
