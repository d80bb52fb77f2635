-- comity store, schema 4: local user accounts of the web UI and their sessions.
CREATE TABLE users (
    id              TEXT PRIMARY KEY,
    username        TEXT NOT NULL UNIQUE,
    display_name    TEXT NOT NULL,
    role            TEXT NOT NULL,
    authority       TEXT NOT NULL,
    language        TEXT NOT NULL,
    password_hash   TEXT NOT NULL,
    totp_secret     TEXT NOT NULL,
    disabled        INTEGER NOT NULL,
    failed_logins   INTEGER NOT NULL,
    locked_until_ms INTEGER,
    last_totp_step  INTEGER NOT NULL,
    created_ms      INTEGER NOT NULL
) STRICT;

-- A session is found by the SHA-256 of its cookie value; the value itself is never stored.
CREATE TABLE sessions (
    id_hash     TEXT PRIMARY KEY,
    user_id     TEXT NOT NULL REFERENCES users(id),
    csrf_token  TEXT NOT NULL,
    created_ms  INTEGER NOT NULL,
    expires_ms  INTEGER NOT NULL
) STRICT;
CREATE INDEX sessions_by_user ON sessions(user_id);
