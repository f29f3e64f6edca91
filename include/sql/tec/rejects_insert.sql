INSERT INTO {{ schema|ident }}.{{ (table ~ "_rejects")|ident }}
    (source_file, line_number, field, reason, raw_record, measure_date, cycle_id, run_id)
VALUES (%(source_file)s, %(line_number)s, %(field)s, %(reason)s, %(raw_record)s, %(measure_date)s, %(cycle_id)s, %(run_id)s)
