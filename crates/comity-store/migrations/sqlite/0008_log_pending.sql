-- comity store, schema 8: events waiting for the node's log. On a store shared by several processes, each event is
-- noted here in the transaction that records it; the process that sequences the log appends the events noted and
-- then removes their notes, so its work follows what is new rather than the whole store. The embedded store, whose
-- writing process appends to the log itself, notes nothing. Not node data: `copy_all` does not move it.
CREATE TABLE log_pending (
    request_id  TEXT NOT NULL,
    seq         INTEGER NOT NULL,
    PRIMARY KEY (request_id, seq)
) STRICT;
