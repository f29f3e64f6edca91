-- The SMTP server refused or was unreachable: nothing went out, so the record goes and a retry sends.
DELETE FROM dfps.dps_late_notices
WHERE period = %(period)s AND run_id = %(run_id)s AND status = 'pending'
