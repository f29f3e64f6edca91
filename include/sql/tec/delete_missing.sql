-- Rows of this day and cycle that the new file no longer has.
DELETE FROM {{ schema|ident }}.{{ table|ident }} AS t
WHERE t.measure_date = %(measure_date)s
  AND t.cycle_id = %(cycle_id)s
  AND NOT EXISTS (SELECT 1 FROM capacity_stage AS s WHERE s.loc = t.loc AND s.loc_name = t.loc_name)
