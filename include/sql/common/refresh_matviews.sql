-- One statement per view, in the order given; CONCURRENTLY (the view's unique index):
-- readers keep the old rows until the transaction commits.
{% for schema, view in views %}
REFRESH MATERIALIZED VIEW {% if concurrently %}CONCURRENTLY {% endif %}{{ schema|ident }}.{{ view|ident }};
{% endfor %}
