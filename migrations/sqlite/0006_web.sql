-- Web pages (SQLite): sign-in by emailed link, browser sessions, the user's language,
-- and account messages (sign-in links) in the outbox.

-- The language a user chose for the pages (NULL: follow the browser).
ALTER TABLE users ADD COLUMN lang TEXT CHECK (lang IN ('fr', 'en'));

-- An emailed sign-in link: its token is derived from the id with the service's key
-- and kept only as a hash; single use, valid until expires_at.
CREATE TABLE login_links (
    id         BLOB PRIMARY KEY NOT NULL,
    user_id    BLOB NOT NULL REFERENCES users (id),
    token_hash TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used_at    TEXT
);
CREATE INDEX login_links_by_user ON login_links (user_id);

-- Every use of the sign-in form, known address or not: the rate limits count these.
-- Both values are hashes: no address is kept in clear.
CREATE TABLE login_requests (
    email_hash  TEXT NOT NULL,
    client_hash TEXT NOT NULL,
    at          TEXT NOT NULL
);
CREATE INDEX login_requests_by_email ON login_requests (email_hash, at);
CREATE INDEX login_requests_by_client ON login_requests (client_hash, at);

-- A signed-in browser: the cookie holds a random id, the table its hash.
CREATE TABLE web_sessions (
    id_hash    TEXT PRIMARY KEY NOT NULL,
    user_id    BLOB NOT NULL REFERENCES users (id),
    csrf_token TEXT NOT NULL,
    created_at TEXT NOT NULL,
    last_seen  TEXT NOT NULL
);
CREATE INDEX web_sessions_by_user ON web_sessions (user_id);

-- The outbox gains messages to an account holder (audience 'user', user_id set).
-- SQLite cannot change a CHECK in place: rebuild outbox and its attempts, children
-- first, so no cascade runs and every row and sequence number is kept.
CREATE TABLE outbox_new (
    seq            INTEGER PRIMARY KEY AUTOINCREMENT,
    id             BLOB NOT NULL UNIQUE,
    dedupe_key     TEXT NOT NULL UNIQUE,
    kind           TEXT NOT NULL,
    audience       TEXT NOT NULL CHECK (audience IN ('participant', 'referrer', 'user')),
    enrollment_id  BLOB REFERENCES enrollments (id),
    participant_id BLOB REFERENCES participants (id),
    user_id        BLOB REFERENCES users (id),
    occurrence_key TEXT,
    ical_sequence  INTEGER,
    ical_method    TEXT,
    detail         TEXT,
    recipient      TEXT,
    status         TEXT NOT NULL CHECK (status IN ('pending', 'sending', 'sent', 'dead', 'skipped')),
    available_at   TEXT NOT NULL,
    attempts       INTEGER NOT NULL DEFAULT 0,
    lease_until    TEXT,
    claim_token    BLOB,
    last_error     TEXT,
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL,
    sent_at        TEXT
);
INSERT INTO outbox_new (seq, id, dedupe_key, kind, audience, enrollment_id, participant_id,
        occurrence_key, ical_sequence, ical_method, detail, recipient, status, available_at,
        attempts, lease_until, claim_token, last_error, created_at, updated_at, sent_at)
    SELECT seq, id, dedupe_key, kind, audience, enrollment_id, participant_id,
        occurrence_key, ical_sequence, ical_method, detail, recipient, status, available_at,
        attempts, lease_until, claim_token, last_error, created_at, updated_at, sent_at
    FROM outbox;
CREATE TABLE outbox_attempts_new (
    message_id BLOB NOT NULL REFERENCES outbox_new (id) ON DELETE CASCADE,
    attempt    INTEGER NOT NULL,
    at         TEXT NOT NULL,
    outcome    TEXT NOT NULL,
    error      TEXT,
    PRIMARY KEY (message_id, attempt)
);
INSERT INTO outbox_attempts_new SELECT message_id, attempt, at, outcome, error FROM outbox_attempts;
DROP TABLE outbox_attempts;
DROP TABLE outbox;
-- Renaming rewrites outbox_attempts_new's reference to the new name.
ALTER TABLE outbox_new RENAME TO outbox;
ALTER TABLE outbox_attempts_new RENAME TO outbox_attempts;
CREATE INDEX outbox_due ON outbox (available_at, seq) WHERE status IN ('pending', 'sending');
CREATE INDEX outbox_sent_to ON outbox (recipient, sent_at) WHERE status = 'sent';
CREATE INDEX outbox_by_enrollment ON outbox (enrollment_id, kind, occurrence_key);
CREATE INDEX outbox_by_participant ON outbox (participant_id, kind);
