-- One audit row per collected file, committed with the answer's claim; a retry of the same run adds none.
INSERT INTO dfps.dps_exchanges (period, direction, file_name, sha256, size_bytes, row_count, run_id)
SELECT %(period)s, 'from_dps', %(file_name)s, %(sha256)s, %(size_bytes)s, %(row_count)s, %(run_id)s
WHERE NOT EXISTS (
    SELECT 1 FROM dfps.dps_exchanges
    WHERE period = %(period)s AND direction = 'from_dps' AND run_id = %(run_id)s AND sha256 = %(sha256)s
)
