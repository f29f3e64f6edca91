-- Each child's legal county and name from the warehouse's monthly snapshot: the last month
-- loaded before the period ended. Production reads it over database links; the stand-in
-- holds the same tables locally.
SELECT DISTINCT
    a.ID_SA_PERSON,
    a.CD_LEGAL_CNTY,
    b.DECODE AS LEGAL_COUNTY,
    a.NM_PERSON_NAME
{% if dialect == "oracle" %}
FROM caps.SA_SUM@WARE a
LEFT JOIN caps.CCOUNT@rpt b ON a.CD_LEGAL_CNTY = b.CODE
WHERE a.ID_TIME_LOAD = (SELECT MAX(t.ID_TIME_LOAD) FROM caps.TIME_DIM t WHERE t.DT_MONTH < :period_end)
{% else %}
FROM caps.sa_sum a
LEFT JOIN caps.ccount b ON a.cd_legal_cnty = b.code
WHERE a.id_time_load = (SELECT MAX(t.id_time_load) FROM caps.time_dim t WHERE t.dt_month < %(period_end)s::date)
{% endif %}
