-- The kind of code a decided task was in (core/learning.py symbol_kind: module, class, method,
-- function, nested), a learning scope between the directory and all of the rule's code. Events
-- recorded before this migration have none and are left out of that scope only.
ALTER TABLE learning_events ADD COLUMN kind TEXT;
