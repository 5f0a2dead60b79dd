-- Web pages (PostgreSQL): sign-in by emailed link, browser sessions, the user's
-- language, and account messages (sign-in links) in the outbox.

-- The language a user chose for the pages (NULL: follow the browser).
ALTER TABLE users ADD COLUMN lang TEXT CHECK (lang IN ('fr', 'en'));

-- An emailed sign-in link: its token is derived from the id with the service's key
-- and kept only as a hash; single use, valid until expires_at.
CREATE TABLE login_links (
    id         UUID PRIMARY KEY,
    user_id    UUID NOT NULL REFERENCES users (id),
    token_hash TEXT NOT NULL UNIQUE,
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    used_at    TIMESTAMPTZ
);
CREATE INDEX login_links_by_user ON login_links (user_id);

-- Every use of the sign-in form, known address or not: the rate limits count these.
-- Both values are hashes: no address is kept in clear.
CREATE TABLE login_requests (
    email_hash  TEXT NOT NULL,
    client_hash TEXT NOT NULL,
    at          TIMESTAMPTZ NOT NULL
);
CREATE INDEX login_requests_by_email ON login_requests (email_hash, at);
CREATE INDEX login_requests_by_client ON login_requests (client_hash, at);

-- A signed-in browser: the cookie holds a random id, the table its hash.
CREATE TABLE web_sessions (
    id_hash    TEXT PRIMARY KEY,
    user_id    UUID NOT NULL REFERENCES users (id),
    csrf_token TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    last_seen  TIMESTAMPTZ NOT NULL
);
CREATE INDEX web_sessions_by_user ON web_sessions (user_id);

-- The outbox gains messages to an account holder (audience 'user', user_id set).
ALTER TABLE outbox DROP CONSTRAINT outbox_audience_check;
ALTER TABLE outbox ADD CONSTRAINT outbox_audience_check
    CHECK (audience IN ('participant', 'referrer', 'user'));
ALTER TABLE outbox ADD COLUMN user_id UUID REFERENCES users (id);
CREATE INDEX outbox_by_participant ON outbox (participant_id, kind);
