-- Every table and view of a source schema, readable by the reader role.
GRANT SELECT ON ALL TABLES IN SCHEMA {{ schema | ident }} TO {{ role | ident }}
