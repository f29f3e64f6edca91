-- A reload of a day and cycle replaces its rejects.
DELETE FROM {{ schema|ident }}.{{ (table ~ "_rejects")|ident }}
WHERE measure_date = %(measure_date)s AND cycle_id = %(cycle_id)s
