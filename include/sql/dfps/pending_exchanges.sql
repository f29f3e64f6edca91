-- The period's files recorded before an upload whose send did not complete (a retry or a rerun resumes them).
SELECT file_name, sha256, size_bytes, row_count, run_id, share_path FROM dfps.dps_exchanges
WHERE period = %(period)s AND direction = 'to_dps' AND state = 'pending'
