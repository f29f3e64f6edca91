-- IMPACT's runaway list (the SA-98 report) for the whole fiscal year, every column the package
-- function returns, in its order: IMPACT_not_in_DPS takes its columns from this cursor.
-- The stand-in has no packages: the same function lives in a schema named after the package.
{% if dialect == "oracle" %}
SELECT * FROM caps.qtr_dps_cvs_pkg.get_sa_98(:start_date, :end_date)
{% else %}
SELECT * FROM qtr_dps_cvs_pkg.get_sa_98(%(start_date)s::date, %(end_date)s::date)
{% endif %}
