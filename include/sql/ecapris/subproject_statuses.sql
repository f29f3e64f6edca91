-- eCapris subproject statuses for one batch of subproject numbers (FSD finance warehouse).
-- SP_NUMBER is NUMBER(18,3): the FM...000 format keeps its trailing zeros (10553.030),
-- as Moped stores them. STATUS_REVIEW_DATE is a naive Central time.
-- Rendered by Airflow, the IN list has the run's batch_size binds; every batch is padded to it.
{% set bind_count = id_count if id_count is defined else params.batch_size | int %}
SELECT
    TO_CHAR(SP_NUMBER, 'FM999999999999999.000') AS SP_NUMBER,
    SP_NAME,
    SUB_PROJECT_STATUS_ID,
    CURR_STATUS_FL,
    SUB_PROJECT_STATUS_DESC,
    TO_CHAR(STATUS_REVIEW_DATE, 'YYYY-MM-DD HH24:MI:SS') AS STATUS_REVIEW_DATE,
    SUB_PROJECT_STATUS_IMPACTS,
    SUMM_DESC,
    REVIEWED_BY,
    REVIEWED_BY_EMAIL
FROM ATD_SUB_PROJECT_STATUS_VW
{% if dialect == "oracle" %}
WHERE SP_NUMBER IN ({% for i in range(bind_count) %}:sp_{{ i }}{{ ", " if not loop.last }}{% endfor %})
{% else %}
WHERE SP_NUMBER = ANY(%(sp_numbers)s)
{% endif %}
ORDER BY SP_NUMBER, SUB_PROJECT_STATUS_ID
