-- One statement per raw table, each run just before that table's COPY, inside the load's
-- one transaction: readers keep seeing the old rows until it commits (DELETE, not TRUNCATE,
-- whose exclusive lock would block them for the whole load).
{% for table in tables %}
DELETE FROM raw.{{ table|ident }};
{% endfor %}
