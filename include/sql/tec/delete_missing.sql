-- Rows of this day and cycle that the new file no longer has. Only the bundle's own rows:
-- a row the original wrote (no row_hash) is kept as it was (its measure_date is a download
-- date, so it may well belong to another gas day). A key whose row in the file was rejected
-- is not missing: its row stays until a valid row replaces it.
DELETE FROM {{ schema|ident }}.{{ table|ident }} AS t
WHERE t.measure_date = %(measure_date)s
  AND t.cycle_id = %(cycle_id)s
  AND t.row_hash IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM capacity_stage AS s WHERE s.loc = t.loc AND s.loc_name = t.loc_name)
  AND NOT EXISTS (
      SELECT 1 FROM capacity_rejected_keys AS r
      WHERE (r.loc IS NULL OR r.loc = t.loc) AND (r.loc_name IS NULL OR r.loc_name = t.loc_name)
  )
