-- Upsert the staged rows on the natural key, touching only rows whose values changed.
WITH merged AS (
    INSERT INTO {{ schema|ident }}.{{ table|ident }} AS target (
        {% for c in columns %}{{ c|ident }}{% if not loop.last %}, {% endif %}{% endfor %}
    )
    SELECT {% for c in columns %}{{ c|ident }}{% if not loop.last %}, {% endif %}{% endfor %}
    FROM capacity_stage
    ON CONFLICT ON CONSTRAINT {{ (table ~ "_unique_key")|ident }} DO UPDATE SET
        {% for c in update_columns %}{{ c|ident }} = EXCLUDED.{{ c|ident }}, {% endfor %}updated_at = now()
    WHERE target.row_hash IS DISTINCT FROM EXCLUDED.row_hash
    RETURNING (xmax = 0) AS inserted
)
SELECT count(*) FILTER (WHERE inserted) AS inserted, count(*) FILTER (WHERE NOT inserted) AS updated
FROM merged
