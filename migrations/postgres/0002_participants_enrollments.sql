-- Participants and enrollments (PostgreSQL).

CREATE TABLE participants (
    id              UUID PRIMARY KEY,
    structure_id    UUID NOT NULL REFERENCES structures (id),
    referrer_id     UUID NOT NULL REFERENCES users (id),
    code            TEXT NOT NULL UNIQUE,
    first_name      TEXT NOT NULL,
    last_name       TEXT NOT NULL,
    search_name     TEXT NOT NULL,
    email           TEXT,
    phone           TEXT,
    language        TEXT NOT NULL CHECK (language IN ('fr', 'en')),
    birth_year      INTEGER,
    situation       TEXT NOT NULL,
    notify_referrer BOOLEAN NOT NULL,
    consent_at      TIMESTAMPTZ NOT NULL,
    notes           TEXT,
    erased_at       TIMESTAMPTZ,
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL
);
CREATE INDEX participants_by_structure ON participants (structure_id, last_name, first_name, id);

-- A place: in a whole session from `from_key` on (series), or in one occurrence.
-- Keys are occurrence keys (UTC, basic form), so text order is time order.
CREATE TABLE enrollments (
    id             UUID PRIMARY KEY,
    participant_id UUID NOT NULL REFERENCES participants (id),
    session_id     UUID NOT NULL REFERENCES sessions (id),
    structure_id   UUID NOT NULL REFERENCES structures (id),
    scope          TEXT NOT NULL CHECK (scope IN ('series', 'occurrence')),
    from_key       TEXT NOT NULL,
    occurrence_key TEXT,
    status         TEXT NOT NULL CHECK (status IN ('confirmed', 'waitlisted', 'cancelled')),
    queue_seq      BIGINT NOT NULL,
    created_by     UUID NOT NULL REFERENCES users (id),
    created_at     TIMESTAMPTZ NOT NULL,
    updated_at     TIMESTAMPTZ NOT NULL,
    cancelled_at   TIMESTAMPTZ,
    CHECK ((scope = 'series' AND occurrence_key IS NULL)
        OR (scope = 'occurrence' AND occurrence_key = from_key))
);
CREATE UNIQUE INDEX enrollments_one_active ON enrollments (participant_id, session_id)
    WHERE status <> 'cancelled';
CREATE INDEX enrollments_by_session ON enrollments (session_id, status, queue_seq);
CREATE INDEX enrollments_by_participant ON enrollments (participant_id, created_at);

-- A retried POST with the same Idempotency-Key gets the first answer back.
CREATE TABLE idempotency_keys (
    user_id       UUID NOT NULL,
    key           TEXT NOT NULL,
    request_hash  TEXT NOT NULL,
    status        INTEGER NOT NULL,
    response_body TEXT NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (user_id, key)
);

-- Places taken in each materialised occurrence, kept with every enrollment change.
ALTER TABLE occurrences ADD COLUMN taken INTEGER NOT NULL DEFAULT 0;
