-- One statement per raw table, run after its COPY in the same transaction: rows built == rows held.
{% for table in tables %}
SELECT count(*) FROM raw.{{ table|ident }};
{% endfor %}
