UPDATE dfps.dps_send_summary_mails SET status = 'sent', sent_at = now()
WHERE period = %(period)s AND run_id = %(run_id)s
