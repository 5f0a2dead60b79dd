-- When each account last opened a browser session (programme staff's accounts page).
ALTER TABLE users ADD COLUMN last_signed_in_at TEXT;
