-- Claims the file's content for the period, or returns the claim that was there first.
WITH claimed AS (
    INSERT INTO dfps.dps_answer_claims (sha256, period, run_id, file_name, size_bytes, remote_mtime)
    VALUES (%(sha256)s, %(period)s, %(run_id)s, %(file_name)s, %(size_bytes)s, %(remote_mtime)s)
    ON CONFLICT (sha256) DO NOTHING
    RETURNING period, run_id, claimed_at
)
SELECT period, run_id, claimed_at FROM claimed
UNION ALL
SELECT period, run_id, claimed_at FROM dfps.dps_answer_claims WHERE sha256 = %(sha256)s
