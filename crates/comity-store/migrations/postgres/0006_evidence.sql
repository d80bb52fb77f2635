-- comity store, schema 6: evidence. Sealed packages held against a request (the ciphertext lives in the blob store,
-- named by its SHA-256), the sending side's durable transfer job, and the receiving side's resumable uploads with
-- the chunks already written. Nothing here holds evidence content: only digests, sizes and signed statements.
CREATE TABLE evidence (
    id               TEXT PRIMARY KEY,
    request_id       TEXT NOT NULL REFERENCES requests(id),
    direction        TEXT NOT NULL,
    counterpart      TEXT NOT NULL,
    thread           TEXT NOT NULL,
    package_sha256   TEXT NOT NULL,
    size_bytes       BIGINT NOT NULL,
    statement        TEXT NOT NULL,
    producer         TEXT NOT NULL,
    seal_status      TEXT NOT NULL,
    chunk_bytes      BIGINT NOT NULL,
    chunk_digests    TEXT NOT NULL,
    created_ms       BIGINT NOT NULL,
    transfer_state   TEXT,
    attempts         BIGINT NOT NULL DEFAULT 0,
    next_attempt_ms  BIGINT,
    last_error       TEXT,
    upload_id        TEXT,
    chunks_sent      BIGINT NOT NULL DEFAULT 0,
    receipt          TEXT,
    receipt_ms       BIGINT,
    UNIQUE (request_id, package_sha256)
);
CREATE INDEX evidence_transfers_due ON evidence(next_attempt_ms) WHERE transfer_state = 'pending';

CREATE TABLE evidence_uploads (
    upload_id        TEXT PRIMARY KEY,
    sender           TEXT NOT NULL,
    thread           TEXT NOT NULL,
    request_id       TEXT NOT NULL REFERENCES requests(id),
    package_sha256   TEXT NOT NULL,
    size_bytes       BIGINT NOT NULL,
    statement        TEXT NOT NULL,
    chunk_bytes      BIGINT NOT NULL,
    chunk_digests    TEXT NOT NULL,
    created_ms       BIGINT NOT NULL,
    chunk_writes     BIGINT NOT NULL DEFAULT 0,
    evidence_id      TEXT REFERENCES evidence(id),
    UNIQUE (sender, thread, package_sha256)
);

CREATE TABLE evidence_upload_chunks (
    upload_id    TEXT NOT NULL REFERENCES evidence_uploads(upload_id) ON DELETE CASCADE,
    idx          BIGINT NOT NULL,
    received_ms  BIGINT NOT NULL,
    PRIMARY KEY (upload_id, idx)
);
