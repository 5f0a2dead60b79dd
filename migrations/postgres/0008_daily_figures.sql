-- Daily figures by structure and by situation (PostgreSQL).
-- A year of a thousand clubs holds millions of attendance records; an occurrence holds
-- many structures and situations, so no per-occurrence count serves a grouping by them.
-- These rows do: per local day, the sums of the records and walk-ins of each structure
-- and situation, and how many occurrences each took part in (an occurrence falls on one
-- day, so a period's occurrences are the sum of its days'). `structure` is a structure's
-- id as text, `walk_in` for walk-ins (they belong to no structure), or `*` for all;
-- `situation` is a situation or `*` for all. Recording a sheet adds what changed.
CREATE TABLE daily_figures (
    structure    TEXT NOT NULL,
    situation    TEXT NOT NULL,
    local_date   TEXT NOT NULL,
    records      BIGINT NOT NULL,
    present      BIGINT NOT NULL,
    held         BIGINT NOT NULL,
    held_present BIGINT NOT NULL,
    walk_ins     BIGINT NOT NULL,
    occurrences  BIGINT NOT NULL,
    PRIMARY KEY (structure, situation, local_date)
);
-- Figures by structure read the rows of every situation (`*`).
CREATE INDEX daily_figures_by_situation ON daily_figures (situation, structure, local_date);

-- A social worker's figures by club or sport read their structure's records: the
-- index holds every column those sums need, so they never visit the table's rows.
DROP INDEX attendance_by_structure;
CREATE INDEX attendance_by_structure ON attendance (structure_id, local_date, club_id, sport,
    status, held_place, session_id, occurrence_key);

-- The figures of the attendance already recorded. `Store::rebuild_attendance_rollups`
-- runs the statement below this line again after a bulk import.
-- backfill
INSERT INTO daily_figures (structure, situation, local_date, records, present, held,
    held_present, walk_ins, occurrences)
SELECT structure, situation, local_date, SUM(records), SUM(present), SUM(held),
    SUM(held_present), SUM(walk_ins), COUNT(*)
FROM (
    -- One row per occurrence and key: the occurrence counts once for each.
    SELECT structure, situation, local_date, session_id, occurrence_key,
        SUM(records) AS records, SUM(present) AS present, SUM(held) AS held,
        SUM(held_present) AS held_present, SUM(walk_ins) AS walk_ins
    FROM (
        -- Each record and walk-in counts for its structure and situation, for its
        -- structure (all situations), and for its situation (all structures).
        SELECT CASE copies.n WHEN 3 THEN '*' ELSE CAST(structure_id AS TEXT) END AS structure,
            CASE copies.n WHEN 2 THEN '*' ELSE situation END AS situation,
            local_date, session_id, occurrence_key, 1 AS records,
            CASE WHEN status = 'present' THEN 1 ELSE 0 END AS present,
            CASE WHEN held_place THEN 1 ELSE 0 END AS held,
            CASE WHEN held_place AND status = 'present' THEN 1 ELSE 0 END AS held_present,
            0 AS walk_ins
        FROM attendance CROSS JOIN (SELECT 1 AS n UNION ALL SELECT 2 UNION ALL SELECT 3) copies
        UNION ALL
        SELECT CASE copies.n WHEN 3 THEN '*' ELSE 'walk_in' END,
            CASE copies.n WHEN 2 THEN '*' ELSE situation END,
            local_date, session_id, occurrence_key, 0, 0, 0, 0, count
        FROM walk_ins CROSS JOIN (SELECT 1 AS n UNION ALL SELECT 2 UNION ALL SELECT 3) copies
    ) facts
    GROUP BY structure, situation, local_date, session_id, occurrence_key
) per_occurrence
GROUP BY structure, situation, local_date;
