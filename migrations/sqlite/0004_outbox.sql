-- Email outbox, calendar sequences, RSVP answers and calendar feeds (SQLite).

-- Raised on every change to an enrollment's calendar object (iCalendar SEQUENCE).
ALTER TABLE enrollments ADD COLUMN ical_sequence INTEGER NOT NULL DEFAULT 0;

-- The secret of the participant's personal calendar feed (a capability URL).
ALTER TABLE participants ADD COLUMN feed_token TEXT;
CREATE UNIQUE INDEX participants_by_feed_token ON participants (feed_token);

-- One row per email to send, written in the transaction of its cause. The message is
-- rendered at delivery from the current state, with the SEQUENCE of its cause.
CREATE TABLE outbox (
    seq            INTEGER PRIMARY KEY AUTOINCREMENT,
    id             BLOB NOT NULL UNIQUE,
    dedupe_key     TEXT NOT NULL UNIQUE,
    kind           TEXT NOT NULL,
    audience       TEXT NOT NULL CHECK (audience IN ('participant', 'referrer')),
    enrollment_id  BLOB REFERENCES enrollments (id),
    participant_id BLOB REFERENCES participants (id),
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
CREATE INDEX outbox_due ON outbox (available_at, seq) WHERE status IN ('pending', 'sending');
CREATE INDEX outbox_sent_to ON outbox (recipient, sent_at) WHERE status = 'sent';
-- The reminder scan asks whether an enrollment's occurrence already has its reminder.
CREATE INDEX outbox_by_enrollment ON outbox (enrollment_id, kind, occurrence_key);

CREATE TABLE outbox_attempts (
    message_id BLOB NOT NULL REFERENCES outbox (id) ON DELETE CASCADE,
    attempt    INTEGER NOT NULL,
    at         TEXT NOT NULL,
    outcome    TEXT NOT NULL,
    error      TEXT,
    PRIMARY KEY (message_id, attempt)
);

-- "I'm coming" / "I can't come" for one occurrence of an enrollment.
CREATE TABLE rsvps (
    enrollment_id  BLOB NOT NULL REFERENCES enrollments (id),
    occurrence_key TEXT NOT NULL,
    answer         TEXT NOT NULL CHECK (answer IN ('coming', 'not_coming')),
    answered_at    TEXT NOT NULL,
    PRIMARY KEY (enrollment_id, occurrence_key)
);
CREATE INDEX rsvps_declined ON rsvps (occurrence_key) WHERE answer = 'not_coming';
