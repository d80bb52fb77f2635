-- comity store, schema 3: federation. Links between local requests and cross-border threads, the hash chain of each
-- thread per counterpart, the transactional outbox, the inbox of accepted messages with their receipts, and security
-- events for everything refused at the door.
CREATE TABLE request_links (
    request_id   TEXT PRIMARY KEY REFERENCES requests(id),
    direction    TEXT NOT NULL,
    counterpart  TEXT NOT NULL,
    thread       TEXT NOT NULL,
    upstream     TEXT
);
CREATE UNIQUE INDEX request_links_by_thread ON request_links(thread, counterpart);

CREATE TABLE threads (
    thread       TEXT NOT NULL,
    counterpart  TEXT NOT NULL,
    last_hash    TEXT NOT NULL,
    messages     BIGINT NOT NULL,
    PRIMARY KEY (thread, counterpart)
);

CREATE TABLE outbox (
    seq              BIGSERIAL PRIMARY KEY,
    message_id       TEXT NOT NULL UNIQUE,
    recipient        TEXT NOT NULL,
    thread           TEXT NOT NULL,
    envelope         TEXT NOT NULL,
    created_ms       BIGINT NOT NULL,
    attempts         BIGINT NOT NULL DEFAULT 0,
    next_attempt_ms  BIGINT NOT NULL,
    last_error       TEXT,
    delivered_ms     BIGINT,
    receipt          TEXT,
    failed           TEXT
);
CREATE INDEX outbox_pending ON outbox(next_attempt_ms) WHERE delivered_ms IS NULL AND failed IS NULL;

CREATE TABLE inbox (
    message_id       TEXT PRIMARY KEY,
    sender           TEXT NOT NULL,
    thread           TEXT NOT NULL,
    envelope_sha256  TEXT NOT NULL,
    receipt          TEXT NOT NULL,
    received_ms      BIGINT NOT NULL
);

CREATE TABLE security_events (
    id          BIGSERIAL PRIMARY KEY,
    at_ms       BIGINT NOT NULL,
    code        TEXT NOT NULL,
    sender      TEXT,
    message_id  TEXT,
    detail      TEXT NOT NULL
);
