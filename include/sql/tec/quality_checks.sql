-- Data-quality gate of one loaded day and cycle; every column must come back as expected.
SELECT
    count(*) FILTER (WHERE loc IS NULL OR loc_name IS NULL) AS null_keys,
    count(*) - count(DISTINCT (loc, loc_name)) AS duplicate_keys,
    count(*) AS loaded_rows,
    (
        SELECT count(*) FROM {{ schema|ident }}.{{ (table ~ "_history")|ident }} AS h
        WHERE h.is_current AND h.measure_date = %(measure_date)s AND h.cycle_id = %(cycle_id)s
    ) AS current_versions
FROM {{ schema|ident }}.{{ table|ident }}
WHERE measure_date = %(measure_date)s AND cycle_id = %(cycle_id)s
