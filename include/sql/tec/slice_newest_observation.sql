-- When the newest file loaded into this day and cycle was downloaded: its load record, or
-- (slices loaded before the record existed) the latest moment its history records.
SELECT greatest(
    (SELECT observed_at FROM {{ schema|ident }}.{{ (table ~ "_loads")|ident }}
     WHERE measure_date = %(measure_date)s AND cycle_id = %(cycle_id)s),
    (SELECT max(greatest(valid_from, valid_to)) FROM {{ schema|ident }}.{{ (table ~ "_history")|ident }}
     WHERE measure_date = %(measure_date)s AND cycle_id = %(cycle_id)s)
)
