-- Each child's legal county and name in one monthly load of the warehouse. Production reads
-- it over database links; the stand-in holds the same tables locally.
SELECT DISTINCT
    a.ID_SA_PERSON,
    a.CD_LEGAL_CNTY,
    b.DECODE,
    a.NM_PERSON_NAME
{% if dialect == "oracle" %}
FROM caps.SA_SUM@WARE a
LEFT JOIN caps.CCOUNT@rpt b ON a.CD_LEGAL_CNTY = b.CODE
WHERE a.ID_TIME_LOAD = :id_time_load
{% else %}
FROM caps.sa_sum a
LEFT JOIN caps.ccount b ON a.cd_legal_cnty = b.code
WHERE a.id_time_load = %(id_time_load)s
{% endif %}
