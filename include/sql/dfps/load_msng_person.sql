{#- The original's newer version: IMPACT's procedure takes the period's DPS rows into the warehouse
    (quarter NULL for a whole year); the stand-in's is a Postgres procedure. A Jinja comment, so the
    Oracle text starts with BEGIN and the driver sends it as the PL/SQL block it is. -#}
{% if dialect == "oracle" %}
BEGIN caps.load_dfps_msng_person(:fiscal_year, :quarter); END;
{% else %}
CALL caps.load_dfps_msng_person(%(fiscal_year)s, %(quarter)s::integer)
{% endif %}
