INSERT INTO dfps.dps_results_loads (period, sha256, row_count, run_id)
VALUES (%(period)s, %(sha256)s, %(row_count)s, %(run_id)s)
ON CONFLICT (period, sha256) DO NOTHING
