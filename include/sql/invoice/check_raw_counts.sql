-- After the load's commit: each raw table holds exactly the rows the load built
-- (the load's counts, as bind parameters); one true column per table.
SELECT
{% for table in tables %}
    (SELECT count(*) FROM raw.{{ table|ident }}) = %({{ table }})s::bigint AS {{ (table ~ "_rows_as_loaded")|ident }}{{ "," if not loop.last }}
{% endfor %}
