-- [llm]: the API's request id of every call (the `request-id` response header, also on errors),
-- so a failure an operator reports can be traced by Anthropic support. NULL: no answer came back
-- (a timeout, no network) or an imported row.
ALTER TABLE llm_calls ADD COLUMN request_id TEXT;

-- Of cache_write_tokens, those written to the 1-hour cache (usage.cache_creation
-- .ephemeral_1h_input_tokens): they are priced higher than 5-minute writes.
ALTER TABLE llm_calls ADD COLUMN cache_write_1h_tokens INTEGER NOT NULL DEFAULT 0;
