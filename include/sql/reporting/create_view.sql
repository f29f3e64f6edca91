-- The query is the manifest's own SQL text, run as the manifest's owner wrote it.
CREATE MATERIALIZED VIEW {{ schema | ident }}.{{ name | ident }} AS {{ query }}
