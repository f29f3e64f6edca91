-- Until RESET ROLE or the transaction's end: the manifest's query may read its sources only.
SET LOCAL ROLE {{ role | ident }}
