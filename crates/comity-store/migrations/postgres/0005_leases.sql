-- comity store, schema 5: leases, so that of several processes sharing one store exactly one runs a periodic job.
-- A lease is held by `holder` until `expires_ms`; after that anyone may take it. Leases are not node data:
-- `copy_all` does not move them.
CREATE TABLE leases (
    name        TEXT PRIMARY KEY,
    holder      TEXT NOT NULL,
    expires_ms  BIGINT NOT NULL
);
