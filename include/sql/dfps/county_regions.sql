-- County name to DFPS sub-region, for the Legal_Region column.
SELECT CNTY_NAME, SUB_REG AS REGION
FROM caps.cnty_reg_tableau
