-- The slice's latest load: what the quality gate compares the table with.
SELECT observed_at, source_file, rows_expected, run_id
FROM {{ schema|ident }}.{{ (table ~ "_loads")|ident }}
WHERE measure_date = %(measure_date)s AND cycle_id = %(cycle_id)s
