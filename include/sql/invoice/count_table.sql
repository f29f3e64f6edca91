SELECT count(*) FROM raw.{{ table|ident }}
