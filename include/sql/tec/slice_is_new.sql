-- True when this day and cycle has no row and no current version yet (its first load).
SELECT NOT EXISTS (
           SELECT 1 FROM {{ schema|ident }}.{{ table|ident }}
           WHERE measure_date = %(measure_date)s AND cycle_id = %(cycle_id)s
       )
   AND NOT EXISTS (
           SELECT 1 FROM {{ schema|ident }}.{{ (table ~ "_history")|ident }}
           WHERE is_current AND measure_date = %(measure_date)s AND cycle_id = %(cycle_id)s
       )
