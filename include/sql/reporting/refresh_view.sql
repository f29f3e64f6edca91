REFRESH MATERIALIZED VIEW {% if concurrently %}CONCURRENTLY {% endif %}{{ schema | ident }}.{{ name | ident }}
