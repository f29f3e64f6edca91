SELECT (SELECT count(*) FROM {{ schema | ident }}.{{ name | ident }}) AS row_count,
       pg_total_relation_size(%(oid)s::oid) AS total_bytes
