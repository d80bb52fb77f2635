-- comity store, schema 2: list indexes that answer any combination of filters from the index alone.
-- Each leads with one filter column, then the list order, then the other filter columns: a scan checks the other
-- filters inside the index and reads only the rows it returns. A case holds few requests, so its index needs no more.
DROP INDEX requests_by_state;
CREATE INDEX requests_by_state ON requests(state, created_ms, id, mechanism, urgency);
CREATE INDEX requests_by_mechanism ON requests(mechanism, created_ms, id, state, urgency);
CREATE INDEX requests_by_urgency ON requests(urgency, created_ms, id, state, mechanism);
-- State and mechanism together (the usual search) go straight to their rows, with or without an urgency.
CREATE INDEX requests_by_state_mechanism ON requests(state, mechanism, urgency, created_ms, id);
DROP INDEX requests_by_due;
CREATE INDEX requests_by_due ON requests(next_due_ms, id, state, mechanism, urgency) WHERE next_due_ms IS NOT NULL;
-- The due queue of one state.
CREATE INDEX requests_by_state_due ON requests(state, next_due_ms, id, mechanism, urgency) WHERE next_due_ms IS NOT NULL;
