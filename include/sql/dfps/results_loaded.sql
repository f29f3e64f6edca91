SELECT run_id, loaded_at FROM dfps.dps_results_loads
WHERE period = %(period)s AND sha256 = %(sha256)s
