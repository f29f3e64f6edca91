-- Close the current version of every key of this day and cycle whose values changed
-- or that the new file no longer has. A key whose only row in the file was rejected
-- keeps its current version (it has not vanished; its new values are unknown).
UPDATE {{ schema|ident }}.{{ (table ~ "_history")|ident }} AS h
SET valid_to = %(observed_at)s, is_current = FALSE
WHERE h.is_current
  AND h.measure_date = %(measure_date)s
  AND h.cycle_id = %(cycle_id)s
  AND NOT EXISTS (
      SELECT 1 FROM capacity_stage AS s
      WHERE s.loc = h.loc AND s.loc_name = h.loc_name AND s.row_hash = h.row_hash
  )
  AND NOT EXISTS (
      SELECT 1 FROM capacity_rejected_keys AS r
      WHERE (r.loc IS NULL OR r.loc = h.loc) AND (r.loc_name IS NULL OR r.loc_name = h.loc_name)
        AND NOT EXISTS (SELECT 1 FROM capacity_stage AS s WHERE s.loc = h.loc AND s.loc_name = h.loc_name)
  )
