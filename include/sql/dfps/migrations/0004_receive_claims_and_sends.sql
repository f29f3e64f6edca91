-- Which period each DPS results file was taken for, recorded before it is reconciled: one claim
-- per file content, so an answer (or a file left behind by a failed run) never serves two periods.
-- The server's name, size and time let the sensor skip another period's file without reading it.
CREATE TABLE IF NOT EXISTS dfps.dps_answer_claims (
    sha256 TEXT PRIMARY KEY,
    period TEXT NOT NULL,
    run_id TEXT NOT NULL,
    file_name TEXT NOT NULL,
    size_bytes BIGINT NOT NULL,
    remote_mtime BIGINT NOT NULL,
    claimed_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS dps_answer_claims_remote ON dfps.dps_answer_claims (file_name, size_bytes, remote_mtime);

-- Mails recorded before and after the SMTP exchange: 'pending' first (committed), 'sent' once the
-- server took it. A pending row left by a kill means "maybe sent": not sent again unless forced.
-- Rows from before this migration were recorded when sent.
ALTER TABLE dfps.dps_stakeholder_mails
    ADD COLUMN IF NOT EXISTS status TEXT NOT NULL DEFAULT 'sent' CHECK (status IN ('pending', 'sent')),
    ADD COLUMN IF NOT EXISTS recorded_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    ADD COLUMN IF NOT EXISTS forced BOOLEAN NOT NULL DEFAULT false,
    ALTER COLUMN sent_at DROP NOT NULL,
    ALTER COLUMN sent_at DROP DEFAULT;
ALTER TABLE dfps.dps_stakeholder_mails ALTER COLUMN status DROP DEFAULT;

ALTER TABLE dfps.dps_late_notices
    ADD COLUMN IF NOT EXISTS recipients_sha256 TEXT,
    ADD COLUMN IF NOT EXISTS forced BOOLEAN NOT NULL DEFAULT false,
    ADD COLUMN IF NOT EXISTS status TEXT NOT NULL DEFAULT 'sent' CHECK (status IN ('pending', 'sent')),
    ADD COLUMN IF NOT EXISTS recorded_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    ALTER COLUMN notified_at DROP NOT NULL,
    ALTER COLUMN notified_at DROP DEFAULT;
ALTER TABLE dfps.dps_late_notices ALTER COLUMN status DROP DEFAULT;
