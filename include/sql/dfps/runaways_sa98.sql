-- IMPACT's runaway list (the SA-98 report) for a fiscal period, from the package function.
-- The stand-in has no packages: the same function lives in a schema named after the package.
SELECT
    CHILD_PID,
    NM_CHILD,
    DT_RUNAWAY,
    LEGAL_STATUS,
    LEGAL_COUNTY,
    DT_RECOVERED
{% if dialect == "oracle" %}
FROM TABLE(caps.qtr_dps_cvs_pkg.get_sa_98(:start_date, :end_date))
{% else %}
FROM qtr_dps_cvs_pkg.get_sa_98(%(start_date)s::date, %(end_date)s::date)
{% endif %}
ORDER BY CHILD_PID, DT_RUNAWAY
