-- The files already taken, by the server's name, size and time, and for which period.
SELECT file_name, size_bytes, remote_mtime, period, run_id FROM dfps.dps_answer_claims
