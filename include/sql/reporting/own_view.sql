-- A view the reader role built belongs to the seeder's own role, as the original's views did.
ALTER MATERIALIZED VIEW {{ schema | ident }}.{{ name | ident }} OWNER TO CURRENT_USER
