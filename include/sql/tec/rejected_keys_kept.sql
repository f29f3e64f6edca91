-- Bundle rows of this day and cycle the file has no valid row for: after delete_missing,
-- exactly the rows kept because the file's row for their key was rejected.
SELECT count(*) FROM {{ schema|ident }}.{{ table|ident }} AS t
WHERE t.measure_date = %(measure_date)s
  AND t.cycle_id = %(cycle_id)s
  AND t.row_hash IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM capacity_stage AS s WHERE s.loc = t.loc AND s.loc_name = t.loc_name)
