-- The quarantine of eCapris status rows that could not be sent to Moped.
CREATE SCHEMA IF NOT EXISTS staging;

CREATE TABLE IF NOT EXISTS staging.ecapris_status_rejects (
    run_id TEXT NOT NULL,
    subproject_status_id TEXT,
    ecapris_subproject_id TEXT,
    field TEXT NOT NULL,
    reason TEXT NOT NULL,
    source_row JSONB NOT NULL,
    rejected_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE INDEX IF NOT EXISTS ecapris_status_rejects_run_idx ON staging.ecapris_status_rejects (run_id);
