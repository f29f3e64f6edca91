-- One row of DPS's results file, as parsed (dates as dates), tagged with the period.
INSERT INTO caps.dfps_msng_person_stg (
    cps_name, full_name, cps_dob, s, r, e, doe, last_cont, hr, ori, ori_desc, county_name,
    ori_phone, nic, sts, locate_dt, clr_can_dt, rpt_fiscal_yr, rpt_qtr
)
{% if dialect == "oracle" %}
VALUES (
    :CPS_NAME, :FULL_NAME, :CPS_DOB, :S, :R, :E, :DOE, :LAST_CONT, :HR, :ORI, :ORI_DESC, :COUNTY_NAME,
    :ORI_PHONE, :NIC, :STS, :LOCATE_DT, :CLR_CAN_DT, :fiscal_year, :quarter
)
{% else %}
VALUES (
    %(CPS_NAME)s, %(FULL_NAME)s, %(CPS_DOB)s, %(S)s, %(R)s, %(E)s, %(DOE)s, %(LAST_CONT)s, %(HR)s, %(ORI)s,
    %(ORI_DESC)s, %(COUNTY_NAME)s, %(ORI_PHONE)s, %(NIC)s, %(STS)s, %(LOCATE_DT)s, %(CLR_CAN_DT)s,
    %(fiscal_year)s, %(quarter)s
)
{% endif %}
