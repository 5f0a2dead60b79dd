-- Attendance and encounters (SQLite).
-- Every row keeps what the figures group by (club, sport, local date, and the
-- participant's structure and situation as they were when attendance was recorded), so
-- a later edit or an erasure of the participant never moves a published figure.

-- One row per occurrence whose attendance was recorded: an occurrence "held".
CREATE TABLE attendance_sheets (
    session_id     BLOB NOT NULL REFERENCES sessions (id),
    occurrence_key TEXT NOT NULL,
    club_id        BLOB NOT NULL,
    sport          TEXT NOT NULL,
    -- The occurrence's actual start (UTC) and its date in the session's time zone.
    start_at       TEXT NOT NULL,
    local_date     TEXT NOT NULL,
    walk_ins       INTEGER NOT NULL,
    -- Records of participants present, holding a place, holding it and present.
    present        INTEGER NOT NULL DEFAULT 0,
    held           INTEGER NOT NULL DEFAULT 0,
    held_present   INTEGER NOT NULL DEFAULT 0,
    recorded_by    BLOB NOT NULL REFERENCES users (id),
    recorded_at    TEXT NOT NULL,
    PRIMARY KEY (session_id, occurrence_key)
);
CREATE INDEX attendance_sheets_by_date ON attendance_sheets (local_date, club_id);

-- `held_place`: the participant held a confirmed place in the occurrence when it was
-- recorded (a confirmed enrollment covering it, no "I can't come").
CREATE TABLE attendance (
    session_id     BLOB NOT NULL,
    occurrence_key TEXT NOT NULL,
    participant_id BLOB NOT NULL REFERENCES participants (id),
    enrollment_id  BLOB REFERENCES enrollments (id),
    status         TEXT NOT NULL CHECK (status IN ('present', 'absent', 'excused')),
    held_place     BOOLEAN NOT NULL,
    -- An absence the social worker was already told about (one alert per run).
    alerted        BOOLEAN NOT NULL DEFAULT FALSE,
    club_id        BLOB NOT NULL,
    sport          TEXT NOT NULL,
    start_at       TEXT NOT NULL,
    local_date     TEXT NOT NULL,
    structure_id   BLOB NOT NULL,
    situation      TEXT NOT NULL,
    PRIMARY KEY (session_id, occurrence_key, participant_id),
    FOREIGN KEY (session_id, occurrence_key)
        REFERENCES attendance_sheets (session_id, occurrence_key)
);
CREATE INDEX attendance_by_participant ON attendance (participant_id, start_at);
CREATE INDEX attendance_by_date ON attendance (local_date, club_id, participant_id);
-- A club manager's and a social worker's figures read only their rows.
CREATE INDEX attendance_by_club ON attendance (club_id, local_date);
CREATE INDEX attendance_by_structure ON attendance (structure_id, local_date);

-- Anonymous walk-ins of an occurrence, by situation (`unknown` when not said).
CREATE TABLE walk_ins (
    session_id     BLOB NOT NULL,
    occurrence_key TEXT NOT NULL,
    situation      TEXT NOT NULL,
    count          INTEGER NOT NULL CHECK (count > 0),
    club_id        BLOB NOT NULL,
    sport          TEXT NOT NULL,
    local_date     TEXT NOT NULL,
    PRIMARY KEY (session_id, occurrence_key, situation),
    FOREIGN KEY (session_id, occurrence_key)
        REFERENCES attendance_sheets (session_id, occurrence_key)
);
CREATE INDEX walk_ins_by_date ON walk_ins (local_date, club_id);

-- Each participant's first encounter in the programme, kept with every attendance change.
CREATE TABLE first_encounters (
    participant_id BLOB PRIMARY KEY NOT NULL REFERENCES participants (id),
    session_id     BLOB NOT NULL,
    occurrence_key TEXT NOT NULL,
    club_id        BLOB NOT NULL,
    sport          TEXT NOT NULL,
    local_date     TEXT NOT NULL,
    structure_id   BLOB NOT NULL,
    situation      TEXT NOT NULL
);
CREATE INDEX first_encounters_by_date ON first_encounters (local_date);

-- Who was present, one bit per local day of `year` (day of the year from 0), per club,
-- sport, structure and situation: distinct participants over a period are counted from
-- these few rows per participant, not from every record. Rebuilt for a participant and
-- year whenever a sheet naming them changes.
CREATE TABLE presence (
    participant_id BLOB NOT NULL REFERENCES participants (id),
    year           INTEGER NOT NULL,
    club_id        BLOB NOT NULL,
    sport          TEXT NOT NULL,
    structure_id   BLOB NOT NULL,
    situation      TEXT NOT NULL,
    days           BLOB NOT NULL,
    PRIMARY KEY (participant_id, year, club_id, sport, structure_id, situation)
);
CREATE INDEX presence_by_year ON presence (year, club_id);
