-- One row per DPS results file loaded into IMPACT (caps.load_dfps_msng_person) for a period:
-- the same file is not loaded again by a retry or a reconcile from the archive.
CREATE TABLE IF NOT EXISTS dfps.dps_results_loads (
    period TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    row_count INTEGER NOT NULL,
    run_id TEXT NOT NULL,
    loaded_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (period, sha256)
);

-- One row per receive run that mailed the stakeholders (so a retry does not mail again);
-- the recipients only as a hash.
CREATE TABLE IF NOT EXISTS dfps.dps_stakeholder_mails (
    period TEXT NOT NULL,
    run_id TEXT NOT NULL,
    recipients_sha256 TEXT NOT NULL,
    sent_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (period, run_id)
);
