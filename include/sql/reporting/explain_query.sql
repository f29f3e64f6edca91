-- Checks, without running it, that the reader role may run the query (a REFRESH runs a
-- view's query as the view's owner, so the reader's privileges are checked first).
EXPLAIN
{{ query }}
