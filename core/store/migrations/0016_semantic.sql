-- Optional semantic search (core/embeddings.py, docs/learning.md): sentence embeddings of the
-- history documents and of the fix attempts, computed when a semantic search first needs them.
-- A block holds the vectors of consecutive documents (float16 rows) with their ids and kinds.
-- Deleting a document (a commit analyzed again) drops its block and records the block's range as
-- a gap: its documents are embedded again by the next semantic search.
CREATE TABLE history_vector_blocks (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,  -- never reused: a reader caches blocks by id
    model     TEXT NOT NULL,
    first_doc INTEGER NOT NULL,
    last_doc  INTEGER NOT NULL,
    doc_ids   BLOB NOT NULL,  -- int64 per row
    kinds     BLOB NOT NULL,  -- one byte per row: the index of the document's kind
    vectors   BLOB NOT NULL   -- float16, rows x dimensions
);
CREATE INDEX history_vector_blocks_range ON history_vector_blocks (first_doc, last_doc);
CREATE TABLE history_vector_gaps (
    first_doc INTEGER NOT NULL,
    last_doc  INTEGER NOT NULL
);
CREATE TRIGGER history_docs_vectors_ad AFTER DELETE ON history_docs BEGIN
    INSERT INTO history_vector_gaps (first_doc, last_doc)
    SELECT first_doc, last_doc FROM history_vector_blocks
    WHERE first_doc <= old.id AND old.id <= last_doc;
    DELETE FROM history_vector_blocks WHERE first_doc <= old.id AND old.id <= last_doc;
END;
CREATE TABLE fix_attempt_vectors (
    attempt_id INTEGER PRIMARY KEY REFERENCES fix_attempts (id) ON DELETE CASCADE,
    model      TEXT NOT NULL,
    vector     BLOB NOT NULL
);
