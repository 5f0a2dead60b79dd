-- The cross-club search filters by sport, town or club and reads in start order: an
-- index per filter lets a rare sport or a small town skip the rest of the window.
CREATE INDEX occurrences_search_sport ON occurrences (sport, start_at, session_id, occurrence_key) WHERE listed;
CREATE INDEX occurrences_search_city ON occurrences (city_key, start_at, session_id, occurrence_key) WHERE listed;
CREATE INDEX occurrences_search_club ON occurrences (club_id, start_at, session_id, occurrence_key) WHERE listed;
