UPDATE dfps.dps_late_notices SET status = 'sent', notified_at = now()
WHERE period = %(period)s AND run_id = %(run_id)s
