-- One row per file exchanged with DPS (no child's data: names and birth dates stay in the files).
CREATE SCHEMA IF NOT EXISTS dfps;
CREATE TABLE IF NOT EXISTS dfps.dps_exchanges (
    id BIGSERIAL PRIMARY KEY,
    period TEXT NOT NULL,
    direction TEXT NOT NULL CHECK (direction IN ('to_dps', 'from_dps')),
    file_name TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    size_bytes BIGINT NOT NULL,
    row_count INTEGER NOT NULL,
    sent_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    run_id TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS dps_exchanges_period ON dfps.dps_exchanges (period, direction);

-- One row per receive run that told people DPS's answer was late (so it is said once).
CREATE TABLE IF NOT EXISTS dfps.dps_late_notices (
    period TEXT NOT NULL,
    run_id TEXT NOT NULL,
    notified_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (period, run_id)
);
