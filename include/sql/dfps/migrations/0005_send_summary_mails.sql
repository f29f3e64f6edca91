-- One row per send run that mailed its success summary, recorded 'pending' before the SMTP exchange
-- and 'sent' after it, so a retry or a rerun of the mail task does not mail again; recipients as a hash.
CREATE TABLE IF NOT EXISTS dfps.dps_send_summary_mails (
    period TEXT NOT NULL,
    run_id TEXT NOT NULL,
    recipients_sha256 TEXT NOT NULL,
    forced BOOLEAN NOT NULL DEFAULT false,
    status TEXT NOT NULL CHECK (status IN ('pending', 'sent')),
    recorded_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    sent_at TIMESTAMPTZ,
    PRIMARY KEY (period, run_id)
);
