DROP MATERIALIZED VIEW {% if if_exists %}IF EXISTS {% endif %}{{ schema | ident }}.{{ name | ident }}
