-- Children in DFPS care reported for one fiscal year and quarter (all quarters of the
-- year for a full-year period), filtered in SQL rather than after reading the view.
SELECT
    ID_PP_PERSON,
    NM_PERSON_FIRST,
    NM_PERSON_MIDDLE,
    NM_PERSON_LAST,
    DT_CHILD_BIRTH,
    DT_ENTER_CARE,
    DT_EXIT_CARE,
    GENDER
FROM caps.qtr_dps_cvs
{% if dialect == "oracle" %}
WHERE RPT_FISCAL_YR = :fiscal_year
  AND (:quarter IS NULL OR RPT_QTR = :quarter)
{% else %}
WHERE RPT_FISCAL_YR = %(fiscal_year)s
  AND (%(quarter)s::integer IS NULL OR RPT_QTR = %(quarter)s::integer)
{% endif %}
ORDER BY ID_PP_PERSON, DT_ENTER_CARE
