-- A send's pending files marked sent, by the run that completed them.
UPDATE dfps.dps_exchanges SET state = 'sent', sent_at = now(), run_id = %(run_id)s
WHERE period = %(period)s AND direction = 'to_dps' AND state = 'pending' AND file_name = ANY(%(file_names)s)
