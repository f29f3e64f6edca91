-- An index of the old view recreated on its replacement; `definition_tail` is
-- "USING method (columns) ..." as pg_get_indexdef gave it for the old view.
CREATE {% if unique %}UNIQUE {% endif %}INDEX {{ index | ident }} ON {{ schema | ident }}.{{ name | ident }} {{ definition_tail }}
