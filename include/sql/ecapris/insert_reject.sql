-- A bad source row into the quarantine, once: known by its content's hash and copy number.
-- Seen again by a later run: last_seen_at, last_run_id and seen_count move on, first_seen_at
-- stays. Seen again by a retry of the run that saw it last: nothing changes (no row returned).
INSERT INTO staging.ecapris_status_rejects AS quarantined (
    row_hash, copy_number, first_run_id, last_run_id,
    subproject_status_id, ecapris_subproject_id, field, reason, source_row
)
SELECT
    encode(sha256(convert_to(src.doc::text, 'UTF8')), 'hex'), %(copy_number)s, %(run_id)s, %(run_id)s,
    %(subproject_status_id)s, %(ecapris_subproject_id)s, %(field)s, %(reason)s, src.doc
FROM (SELECT %(source_row)s::jsonb AS doc) AS src
ON CONFLICT (row_hash, copy_number) DO UPDATE SET
    last_run_id = EXCLUDED.last_run_id,
    last_seen_at = now(),
    seen_count = quarantined.seen_count + 1,
    field = EXCLUDED.field,
    reason = EXCLUDED.reason
WHERE quarantined.last_run_id IS DISTINCT FROM EXCLUDED.last_run_id
RETURNING quarantined.seen_count = 1 AS is_new
