-- Every recorded send of the period, oldest first (pending: the SMTP outcome was never recorded).
SELECT run_id, status, recorded_at, sent_at FROM dfps.dps_send_summary_mails
WHERE period = %(period)s
ORDER BY recorded_at
