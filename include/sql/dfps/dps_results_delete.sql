-- DPS's rows already loaded for the period go first: a retry or a reconcile from the archive
-- replaces them in the same transaction instead of loading them twice.
DELETE FROM caps.dfps_msng_person_stg
{% if dialect == "oracle" %}
WHERE rpt_fiscal_yr = :fiscal_year
  AND (rpt_qtr = :quarter OR (rpt_qtr IS NULL AND :quarter IS NULL))
{% else %}
WHERE rpt_fiscal_yr = %(fiscal_year)s
  AND rpt_qtr IS NOT DISTINCT FROM %(quarter)s::integer
{% endif %}
