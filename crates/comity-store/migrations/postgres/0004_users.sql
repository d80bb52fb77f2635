-- comity store, schema 4: local user accounts of the web UI and their sessions.
-- Kept in step with migrations/sqlite/0004_users.sql.
CREATE TABLE users (
    id              TEXT PRIMARY KEY,
    username        TEXT NOT NULL UNIQUE,
    display_name    TEXT NOT NULL,
    role            TEXT NOT NULL,
    authority       TEXT NOT NULL,
    language        TEXT NOT NULL,
    password_hash   TEXT NOT NULL,
    totp_secret     TEXT NOT NULL,
    disabled        BIGINT NOT NULL,
    failed_logins   BIGINT NOT NULL,
    locked_until_ms BIGINT,
    last_totp_step  BIGINT NOT NULL,
    created_ms      BIGINT NOT NULL
);

-- A session is found by the SHA-256 of its cookie value; the value itself is never stored.
CREATE TABLE sessions (
    id_hash     TEXT PRIMARY KEY,
    user_id     TEXT NOT NULL REFERENCES users(id),
    csrf_token  TEXT NOT NULL,
    created_ms  BIGINT NOT NULL,
    expires_ms  BIGINT NOT NULL
);
CREATE INDEX sessions_by_user ON sessions(user_id);
