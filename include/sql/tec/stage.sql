-- A session-private staging table for one file's rows; dropped at commit.
CREATE TEMPORARY TABLE capacity_stage ON COMMIT DROP AS
SELECT {% for c in columns %}{{ c|ident }}{% if not loop.last %}, {% endif %}{% endfor %}
FROM {{ schema|ident }}.{{ table|ident }}
WITH NO DATA
