-- [llm]: the API's request id of every call (the `request-id` response header, also on errors),
-- so a failure an operator reports can be traced by Anthropic support. NULL: no answer came back
-- (a timeout, no network) or an imported row.
ALTER TABLE llm_calls ADD COLUMN request_id TEXT;
