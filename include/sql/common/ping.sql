-- The cheapest real round trip on a database connection.
{% if dialect == "oracle" %}
SELECT 1 AS ok FROM dual
{% else %}
SELECT 1 AS ok
{% endif %}
