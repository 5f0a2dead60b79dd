-- The metrics count the outbox by state at every scrape; on a large outbox (a million
-- rows) this index lets the database answer from the index alone. It also holds
-- available_at, for the age of the oldest pending message.
CREATE INDEX outbox_by_status ON outbox (status, available_at);
