SELECT file_name, sha256, sent_at, run_id FROM dfps.dps_exchanges
WHERE period = %(period)s AND direction = 'to_dps' AND file_name = %(file_name)s AND state = 'sent'
ORDER BY sent_at DESC
LIMIT 1
