-- The manifest's query (checked: one read-only SELECT) is run by the reader role the
-- caller has set; sent alone with the extended protocol, so a second statement is refused.
-- The query ends on its own line: a trailing -- comment in it cannot swallow anything.
CREATE MATERIALIZED VIEW {{ schema | ident }}.{{ name | ident }} AS
{{ query }}
