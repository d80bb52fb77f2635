-- comity store, schema 1: cases, requests (a projection) and their append-only events.
-- Kept in step with migrations/sqlite/0001_init.sql. Times are milliseconds since the Unix epoch; JSON stays TEXT
-- (the store does not look inside documents). Keys and filtered columns compare bytewise (COLLATE "C"), as in SQLite.
CREATE TABLE node_meta (
    key   TEXT COLLATE "C" PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE cases (
    id          TEXT COLLATE "C" PRIMARY KEY,
    reference   TEXT COLLATE "C" NOT NULL UNIQUE,
    title       TEXT NOT NULL,
    created_by  TEXT NOT NULL,
    created_ms  BIGINT NOT NULL
);

CREATE TABLE requests (
    id            TEXT COLLATE "C" PRIMARY KEY,
    case_id       TEXT COLLATE "C" NOT NULL REFERENCES cases(id),
    mechanism     TEXT COLLATE "C" NOT NULL,
    state         TEXT COLLATE "C" NOT NULL,
    document      TEXT NOT NULL,
    created_by    TEXT NOT NULL,
    urgency       TEXT COLLATE "C" NOT NULL,
    created_ms    BIGINT NOT NULL,
    updated_ms    BIGINT NOT NULL,
    next_due_ms   BIGINT,
    version       BIGINT NOT NULL
);
CREATE INDEX requests_by_case ON requests(case_id, created_ms);
CREATE INDEX requests_by_state ON requests(state, created_ms);
CREATE INDEX requests_by_due ON requests(next_due_ms) WHERE next_due_ms IS NOT NULL;
CREATE INDEX requests_by_created ON requests(created_ms, id);

-- Append-only: no UPDATE, DELETE or TRUNCATE is ever issued against this table, and the triggers refuse them.
CREATE TABLE events (
    request_id  TEXT COLLATE "C" NOT NULL REFERENCES requests(id),
    seq         BIGINT NOT NULL,
    action      TEXT NOT NULL,
    from_state  TEXT NOT NULL,
    to_state    TEXT NOT NULL,
    actor       TEXT NOT NULL,
    at_ms       BIGINT NOT NULL,
    reason      TEXT,
    detail      TEXT NOT NULL,
    PRIMARY KEY (request_id, seq)
);

CREATE FUNCTION events_are_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'events are append-only' USING ERRCODE = 'restrict_violation';
END
$$;
CREATE TRIGGER events_are_append_only_update BEFORE UPDATE ON events
    FOR EACH ROW EXECUTE FUNCTION events_are_append_only();
CREATE TRIGGER events_are_append_only_delete BEFORE DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION events_are_append_only();
CREATE TRIGGER events_are_append_only_truncate BEFORE TRUNCATE ON events
    FOR EACH STATEMENT EXECUTE FUNCTION events_are_append_only();
