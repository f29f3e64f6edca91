SELECT count(*) FROM {{ schema|ident }}.{{ view|ident }}
