-- Each view's rows after its refresh, one statement per view in the order given.
{% for schema, view in views %}
SELECT count(*) FROM {{ schema|ident }}.{{ view|ident }};
{% endfor %}
