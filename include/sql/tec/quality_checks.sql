-- Data-quality gate of one loaded day and cycle; every column must come back as expected.
-- It checks the bundle's rows (row_hash set); rows the original wrote and no file has
-- reloaded since are counted apart, as kept.
SELECT
    count(*) FILTER (WHERE row_hash IS NOT NULL AND (loc IS NULL OR loc_name IS NULL)) AS null_keys,
    count(*) FILTER (WHERE row_hash IS NOT NULL)
        - count(DISTINCT (loc, loc_name)) FILTER (WHERE row_hash IS NOT NULL) AS duplicate_keys,
    count(*) FILTER (WHERE row_hash IS NOT NULL) AS loaded_rows,
    (
        SELECT count(*) FROM {{ schema|ident }}.{{ (table ~ "_history")|ident }} AS h
        WHERE h.is_current AND h.measure_date = %(measure_date)s AND h.cycle_id = %(cycle_id)s
    ) AS current_versions,
    count(*) FILTER (WHERE row_hash IS NULL) AS original_rows_kept
FROM {{ schema|ident }}.{{ table|ident }}
WHERE measure_date = %(measure_date)s AND cycle_id = %(cycle_id)s
