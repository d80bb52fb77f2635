-- comity store, schema 7: outbox claims, so that of several processes delivering one node's outbox each due message
-- goes to one. A claim holds until `claimed_until_ms`; a message whose claimer died is claimed again after that.
-- Claims are not node data: `copy_all` does not move them. Kept in step with migrations/sqlite/0007_claims.sql.
ALTER TABLE outbox ADD COLUMN claimed_by TEXT;
ALTER TABLE outbox ADD COLUMN claimed_until_ms BIGINT;

-- The head of each thread (its oldest undelivered message), found per thread rather than by scanning the queue.
CREATE INDEX outbox_thread_pending ON outbox(thread, recipient, seq) WHERE delivered_ms IS NULL AND failed IS NULL;
