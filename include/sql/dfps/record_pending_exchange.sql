-- One file of a send, recorded before it is uploaded; a newer attempt with other content replaces it.
INSERT INTO dfps.dps_exchanges (period, direction, file_name, sha256, size_bytes, row_count, run_id, state, share_path)
VALUES (%(period)s, 'to_dps', %(file_name)s, %(sha256)s, %(size_bytes)s, %(row_count)s, %(run_id)s, 'pending', %(share_path)s)
ON CONFLICT (period, direction, file_name) WHERE state = 'pending' DO UPDATE
SET sha256 = EXCLUDED.sha256, size_bytes = EXCLUDED.size_bytes, row_count = EXCLUDED.row_count,
    run_id = EXCLUDED.run_id, share_path = EXCLUDED.share_path, sent_at = now()
