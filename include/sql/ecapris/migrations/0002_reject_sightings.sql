-- One quarantine row per bad source row, however many runs and retries see it.
-- A row is known by its content's SHA-256 (the JSONB text, so identical rows hash alike)
-- and its copy number (the view may hold identical rows; each is kept). A later run that
-- sees it again moves last_seen_at, last_run_id and seen_count on and keeps first_seen_at;
-- a retry of the run that saw it last changes nothing.
ALTER TABLE staging.ecapris_status_rejects RENAME COLUMN run_id TO first_run_id;
ALTER TABLE staging.ecapris_status_rejects RENAME COLUMN rejected_at TO first_seen_at;
ALTER TABLE staging.ecapris_status_rejects
    ADD COLUMN row_hash TEXT,
    ADD COLUMN copy_number INTEGER NOT NULL DEFAULT 1,
    ADD COLUMN last_run_id TEXT,
    ADD COLUMN last_seen_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    ADD COLUMN seen_count INTEGER NOT NULL DEFAULT 1;

-- What the first version wrote: every run, and every retry (its own transaction, so its own
-- rejected_at), added the same rows again; identical rows of one attempt are copies.
WITH earlier AS (
    DELETE FROM staging.ecapris_status_rejects RETURNING *
), numbered AS (
    SELECT
        earlier.*,
        encode(sha256(convert_to(source_row::text, 'UTF8')), 'hex') AS content_hash,
        row_number() OVER (PARTITION BY source_row, first_run_id, first_seen_at ORDER BY field, reason) AS copy
    FROM earlier
)
INSERT INTO staging.ecapris_status_rejects (
    first_run_id, last_run_id, subproject_status_id, ecapris_subproject_id, field, reason, source_row,
    first_seen_at, last_seen_at, row_hash, copy_number, seen_count
)
SELECT
    (array_agg(first_run_id ORDER BY first_seen_at))[1],
    (array_agg(first_run_id ORDER BY first_seen_at DESC))[1],
    (array_agg(subproject_status_id ORDER BY first_seen_at DESC))[1],
    (array_agg(ecapris_subproject_id ORDER BY first_seen_at DESC))[1],
    (array_agg(field ORDER BY first_seen_at DESC))[1],
    (array_agg(reason ORDER BY first_seen_at DESC))[1],
    (array_agg(source_row))[1],
    min(first_seen_at),
    max(first_seen_at),
    content_hash,
    copy,
    count(DISTINCT first_run_id)
FROM numbered
GROUP BY content_hash, copy;

ALTER TABLE staging.ecapris_status_rejects
    ALTER COLUMN row_hash SET NOT NULL,
    ALTER COLUMN last_run_id SET NOT NULL;
DROP INDEX IF EXISTS staging.ecapris_status_rejects_run_idx;
CREATE UNIQUE INDEX ecapris_status_rejects_row_key ON staging.ecapris_status_rejects (row_hash, copy_number);
CREATE INDEX ecapris_status_rejects_last_run_idx ON staging.ecapris_status_rejects (last_run_id);
-- The retention's purge reads it.
CREATE INDEX ecapris_status_rejects_last_seen_idx ON staging.ecapris_status_rejects (last_seen_at);
