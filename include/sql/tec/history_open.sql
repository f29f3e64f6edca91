-- Open a version for every staged key that has no current version (new or just closed).
INSERT INTO {{ schema|ident }}.{{ (table ~ "_history")|ident }} (
    {% for c in columns %}{{ c|ident }}, {% endfor %}valid_from, valid_to, is_current, run_id
)
SELECT {% for c in columns %}s.{{ c|ident }}, {% endfor %}%(observed_at)s, NULL, TRUE, %(run_id)s
FROM capacity_stage AS s
WHERE NOT EXISTS (
    SELECT 1 FROM {{ schema|ident }}.{{ (table ~ "_history")|ident }} AS h
    WHERE h.is_current
      AND h.loc = s.loc AND h.loc_name = s.loc_name
      AND h.measure_date = s.measure_date AND h.cycle_id = s.cycle_id
)
