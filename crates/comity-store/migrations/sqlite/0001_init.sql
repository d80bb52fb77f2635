-- comity store, schema 1: cases, requests (a projection) and their append-only events.
CREATE TABLE node_meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;

CREATE TABLE cases (
    id          TEXT PRIMARY KEY,
    reference   TEXT NOT NULL UNIQUE,
    title       TEXT NOT NULL,
    created_by  TEXT NOT NULL,
    created_ms  INTEGER NOT NULL
) STRICT;

CREATE TABLE requests (
    id            TEXT PRIMARY KEY,
    case_id       TEXT NOT NULL REFERENCES cases(id),
    mechanism     TEXT NOT NULL,
    state         TEXT NOT NULL,
    document      TEXT NOT NULL,
    created_by    TEXT NOT NULL,
    urgency       TEXT NOT NULL,
    created_ms    INTEGER NOT NULL,
    updated_ms    INTEGER NOT NULL,
    next_due_ms   INTEGER,
    version       INTEGER NOT NULL
) STRICT;
CREATE INDEX requests_by_case ON requests(case_id, created_ms);
CREATE INDEX requests_by_state ON requests(state, created_ms);
CREATE INDEX requests_by_due ON requests(next_due_ms) WHERE next_due_ms IS NOT NULL;
CREATE INDEX requests_by_created ON requests(created_ms, id);

-- Append-only: no UPDATE or DELETE is ever issued against this table.
CREATE TABLE events (
    request_id  TEXT NOT NULL REFERENCES requests(id),
    seq         INTEGER NOT NULL,
    action      TEXT NOT NULL,
    from_state  TEXT NOT NULL,
    to_state    TEXT NOT NULL,
    actor       TEXT NOT NULL,
    at_ms       INTEGER NOT NULL,
    reason      TEXT,
    detail      TEXT NOT NULL,
    PRIMARY KEY (request_id, seq)
) STRICT;

CREATE TRIGGER events_are_append_only_update BEFORE UPDATE ON events
BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;
CREATE TRIGGER events_are_append_only_delete BEFORE DELETE ON events
BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;
