-- [llm]: the cost ledger, its daily rollup, budget reservations, budget alerts, circuit state.

-- One row per attempt at a Messages API call (an escalation is a second row), or per imported call.
CREATE TABLE llm_calls (
    id                 INTEGER PRIMARY KEY,
    at                 REAL NOT NULL,              -- unix time the call started
    day                TEXT NOT NULL,              -- UTC date 'YYYY-MM-DD' of `at`
    agent              TEXT NOT NULL,
    purpose            TEXT NOT NULL DEFAULT '',
    commit_sha         TEXT,
    task               TEXT NOT NULL DEFAULT '',   -- the routed task text (short)
    prompt             TEXT NOT NULL DEFAULT '',   -- prompt name@version
    model              TEXT NOT NULL,
    tier               TEXT NOT NULL DEFAULT '',   -- haiku / sonnet / opus / '' (unknown)
    rule               TEXT NOT NULL DEFAULT '',   -- the routing rule that chose the model
    input_tokens       INTEGER NOT NULL DEFAULT 0,
    output_tokens      INTEGER NOT NULL DEFAULT 0,
    cache_read_tokens  INTEGER NOT NULL DEFAULT 0,
    cache_write_tokens INTEGER NOT NULL DEFAULT 0,
    latency_ms         REAL NOT NULL DEFAULT 0,
    retries            INTEGER NOT NULL DEFAULT 0,
    status             TEXT NOT NULL,              -- ok / invalid / failed / timeout / refused
    error              TEXT,
    cost_usd           REAL,                       -- NULL: the model is unpriced
    source             TEXT NOT NULL DEFAULT 'api' -- api / import
);
CREATE INDEX llm_calls_at ON llm_calls (at);
CREATE INDEX llm_calls_agent_at ON llm_calls (agent, at);

-- Totals per day, agent, tier and model, kept by a trigger so every query of the Costs pane reads
-- a few thousand rows instead of the whole ledger.
CREATE TABLE llm_daily (
    day                TEXT NOT NULL,
    agent              TEXT NOT NULL,
    tier               TEXT NOT NULL,
    model              TEXT NOT NULL,
    calls              INTEGER NOT NULL DEFAULT 0,
    failed_calls       INTEGER NOT NULL DEFAULT 0,
    unpriced_calls     INTEGER NOT NULL DEFAULT 0,
    input_tokens       INTEGER NOT NULL DEFAULT 0,
    output_tokens      INTEGER NOT NULL DEFAULT 0,
    cache_read_tokens  INTEGER NOT NULL DEFAULT 0,
    cache_write_tokens INTEGER NOT NULL DEFAULT 0,
    cost_usd           REAL NOT NULL DEFAULT 0,
    PRIMARY KEY (day, agent, tier, model)
) WITHOUT ROWID;

CREATE TRIGGER llm_calls_rollup AFTER INSERT ON llm_calls
BEGIN
    INSERT INTO llm_daily (day, agent, tier, model, calls, failed_calls, unpriced_calls,
                           input_tokens, output_tokens, cache_read_tokens, cache_write_tokens,
                           cost_usd)
    VALUES (NEW.day, NEW.agent, NEW.tier, NEW.model, 1,
            CASE WHEN NEW.status = 'ok' THEN 0 ELSE 1 END,
            CASE WHEN NEW.cost_usd IS NULL THEN 1 ELSE 0 END,
            NEW.input_tokens, NEW.output_tokens, NEW.cache_read_tokens, NEW.cache_write_tokens,
            COALESCE(NEW.cost_usd, 0))
    ON CONFLICT (day, agent, tier, model) DO UPDATE SET
        calls = calls + 1,
        failed_calls = failed_calls + excluded.failed_calls,
        unpriced_calls = unpriced_calls + excluded.unpriced_calls,
        input_tokens = input_tokens + excluded.input_tokens,
        output_tokens = output_tokens + excluded.output_tokens,
        cache_read_tokens = cache_read_tokens + excluded.cache_read_tokens,
        cache_write_tokens = cache_write_tokens + excluded.cache_write_tokens,
        cost_usd = cost_usd + excluded.cost_usd;
END;

-- Money set aside for calls in flight, so concurrent calls (in any process) cannot overshoot a cap.
CREATE TABLE llm_reservations (
    id         INTEGER PRIMARY KEY,
    at         REAL NOT NULL,
    day        TEXT NOT NULL,
    agent      TEXT NOT NULL,
    amount_usd REAL NOT NULL,
    expires_at REAL NOT NULL
);
CREATE INDEX llm_reservations_expiry ON llm_reservations (expires_at);

-- Soft-threshold alerts: one row per scope, period and threshold crossed.
CREATE TABLE llm_alerts (
    id         INTEGER PRIMARY KEY,
    at         REAL NOT NULL,
    scope      TEXT NOT NULL,                     -- 'global' or 'agent:<name>'
    period     TEXT NOT NULL,                     -- 'daily' or 'monthly'
    period_key TEXT NOT NULL,                     -- '2026-11-23' or '2026-11'
    threshold  INTEGER NOT NULL,                  -- percent of the cap
    spent_usd  REAL NOT NULL,
    cap_usd    REAL NOT NULL,
    UNIQUE (scope, period, period_key, threshold)
);

-- Small shared state: the circuit breaker's last transition, for the pane and the run-once report.
CREATE TABLE llm_state (
    key        TEXT PRIMARY KEY,
    value_json TEXT NOT NULL,
    updated_at REAL NOT NULL
);
