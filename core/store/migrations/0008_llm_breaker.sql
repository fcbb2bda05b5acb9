-- [llm]: the circuit breaker's state, shared by every process on this store (a hook run, a worker,
-- the TUI): consecutive failures and when the circuit opened, so a new process honours an open
-- circuit instead of storming a failing API again. One row per API endpoint.
CREATE TABLE llm_breaker (
    endpoint     TEXT PRIMARY KEY,        -- the base URL, or 'default' for the SDK's own
    failures     INTEGER NOT NULL DEFAULT 0,   -- consecutive failed calls (any process)
    opened_at    REAL,                    -- unix time the circuit opened; NULL: closed
    trial_until  REAL,                    -- half-open: a trial call is in flight until then
    last_error   TEXT,
    updated_at   REAL NOT NULL
);

-- The breaker's last transition used to live here (one process's view); llm_breaker replaces it.
DELETE FROM llm_state WHERE key = 'circuit';
