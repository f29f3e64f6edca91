-- First load of a day and cycle: every row just copied into the table opens its first version.
INSERT INTO {{ schema|ident }}.{{ (table ~ "_history")|ident }} (
    {% for c in columns %}{{ c|ident }}, {% endfor %}valid_from, valid_to, is_current, run_id
)
SELECT {% for c in columns %}t.{{ c|ident }}, {% endfor %}%(observed_at)s, NULL, TRUE, %(run_id)s
FROM {{ schema|ident }}.{{ table|ident }} AS t
WHERE t.measure_date = %(measure_date)s AND t.cycle_id = %(cycle_id)s
