INSERT INTO dfps.dps_exchanges (period, direction, file_name, sha256, size_bytes, row_count, run_id)
VALUES (%(period)s, %(direction)s, %(file_name)s, %(sha256)s, %(size_bytes)s, %(row_count)s, %(run_id)s)
