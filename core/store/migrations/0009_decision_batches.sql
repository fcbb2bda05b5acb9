-- A bulk decision (A/R on marked rows, decide_many) shares one batch id: the id of its first
-- decision. Undo reverts the whole batch. Rows from before this migration are batches of one.
ALTER TABLE decisions ADD COLUMN batch INTEGER;
