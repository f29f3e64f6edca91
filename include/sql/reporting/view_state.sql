-- The materialized view as it stands: its oid, whether it holds data, and whether a
-- unique index on plain columns allows REFRESH ... CONCURRENTLY.
SELECT c.oid::bigint AS oid,
       m.ispopulated AS populated,
       EXISTS (
           SELECT 1 FROM pg_index AS i
           WHERE i.indrelid = c.oid AND i.indisunique AND i.indisvalid
             AND i.indpred IS NULL AND i.indexprs IS NULL
       ) AS has_unique_index
FROM pg_matviews AS m
JOIN pg_namespace AS n ON n.nspname = m.schemaname
JOIN pg_class AS c ON c.relnamespace = n.oid AND c.relname = m.matviewname
WHERE m.schemaname = %(schema)s AND m.matviewname = %(name)s
