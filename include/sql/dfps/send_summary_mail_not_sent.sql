-- The SMTP server refused or was unreachable: nothing went out, so the record goes and a retry sends.
DELETE FROM dfps.dps_send_summary_mails
WHERE period = %(period)s AND run_id = %(run_id)s AND status = 'pending'
