INSERT INTO dfps.dps_stakeholder_mails (period, run_id, recipients_sha256)
VALUES (%(period)s, %(run_id)s, %(recipients_sha256)s)
ON CONFLICT (period, run_id) DO NOTHING
RETURNING sent_at
