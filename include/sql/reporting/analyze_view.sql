ANALYZE {{ schema | ident }}.{{ name | ident }}
