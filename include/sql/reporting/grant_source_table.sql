-- One source table of a schema that is not all sources (public holds the application's own tables).
GRANT SELECT ON {{ schema | ident }}.{{ name | ident }} TO {{ role | ident }}
