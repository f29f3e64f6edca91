-- Record this load as the slice's newest (the caller holds the slice's lock and checked it is newer).
INSERT INTO {{ schema|ident }}.{{ (table ~ "_loads")|ident }}
    (measure_date, cycle_id, observed_at, source_file, rows_expected, run_id)
VALUES (%(measure_date)s, %(cycle_id)s, %(observed_at)s, %(source_file)s, %(rows_expected)s, %(run_id)s)
ON CONFLICT (measure_date, cycle_id) DO UPDATE SET
    observed_at = EXCLUDED.observed_at,
    source_file = EXCLUDED.source_file,
    rows_expected = EXCLUDED.rows_expected,
    run_id = EXCLUDED.run_id,
    loaded_at = now()
