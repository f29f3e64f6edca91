ALTER MATERIALIZED VIEW {{ schema | ident }}.{{ name | ident }} RENAME TO {{ new_name | ident }}
