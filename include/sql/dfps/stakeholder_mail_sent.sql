UPDATE dfps.dps_stakeholder_mails SET status = 'sent', sent_at = now()
WHERE period = %(period)s AND run_id = %(run_id)s
