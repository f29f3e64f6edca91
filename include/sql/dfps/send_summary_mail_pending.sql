-- Recorded (and committed) before the SMTP exchange: a kill after it leaves 'pending', "maybe sent".
INSERT INTO dfps.dps_send_summary_mails (period, run_id, recipients_sha256, forced, status, recorded_at, sent_at)
VALUES (%(period)s, %(run_id)s, %(recipients_sha256)s, %(forced)s, 'pending', now(), NULL)
ON CONFLICT (period, run_id) DO UPDATE SET
    recipients_sha256 = EXCLUDED.recipients_sha256,
    forced = EXCLUDED.forced,
    status = 'pending',
    recorded_at = now(),
    sent_at = NULL
