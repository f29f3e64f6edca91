-- The warehouse's monthly load for a calendar month (the month before the run): its id keys
-- the legal county snapshot in SA_SUM.
SELECT DISTINCT id_time_load
FROM caps.time_dim
{% if dialect == "oracle" %}
WHERE nbr_time_calendar_year = :calendar_year
  AND nbr_time_calendar_month = :calendar_month
{% else %}
WHERE nbr_time_calendar_year = %(calendar_year)s
  AND nbr_time_calendar_month = %(calendar_month)s
{% endif %}
ORDER BY id_time_load
