GRANT {{ privilege }} ON {{ schema | ident }}.{{ name | ident }} TO {% if grantee == "PUBLIC" %}PUBLIC{% else %}{{ grantee | ident }}{% endif %}
