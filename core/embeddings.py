"""Sentence embeddings for the optional semantic search (``pip install 'controlroom[semantic]'``).

The model is WordLlama's ``l2_supercat`` (256 dimensions), whose weights and tokenizer ship inside
the ``wordllama`` wheel: nothing is fetched at run time. ``WordLlama.load()`` itself would try
Hugging Face for the tokenizer (0.4.0 looks for it under ``tokenizer/`` while the wheel ships
``tokenizers/``), so the bundled files are opened here by path, and a missing file is an error,
never a download.
"""

from __future__ import annotations

import functools
import itertools
from pathlib import Path
from typing import TYPE_CHECKING, Any

from controlroom.core.errors import UsageError

if TYPE_CHECKING:
    import numpy as np

MODEL = "wordllama-l2_supercat-256"
BATCH = 32  # texts tokenized and pooled together
MAX_CHARS = 1000  # of a document's text embedded (an average of token vectors: more dilutes it)
INSTALL_HINT = "python -m pip install 'controlroom[semantic]'"


class SemanticUnavailable(UsageError):
    """Semantic search was asked for and its optional extra is not installed."""


class Embedder:
    """Texts -> unit vectors (float32 rows); cosine similarity is their dot product.

    WordLlama's model is a token embedding table averaged over a text's tokens (no special
    tokens), then normalised; the average is taken here with a gather and ``np.add.reduceat`` per
    batch of texts, where WordLlama's own ``embed`` pads every batch to its longest text."""

    name = MODEL

    def __init__(self, table: np.ndarray, tokenizer: Any) -> None:
        import numpy as np

        self._table = np.asarray(table, dtype=np.float32)
        self._tokenizer = tokenizer
        self.dim = int(table.shape[1])

    def embed(self, texts: list[str]) -> np.ndarray:
        import numpy as np

        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for start in range(0, len(texts), BATCH):  # a gather of a few MB at a time
            out[start : start + BATCH] = self._pooled(texts[start : start + BATCH])
        return out

    def _pooled(self, texts: list[str]) -> np.ndarray:
        import numpy as np

        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        clipped = [text[:MAX_CHARS] for text in texts]
        ids = [e.ids for e in self._tokenizer.encode_batch(clipped, add_special_tokens=False)]
        counts = np.fromiter(map(len, ids), dtype=np.int64, count=len(ids))
        filled = np.flatnonzero(counts)  # a text without tokens stays a zero vector
        if not len(filled):
            return out
        flat = np.fromiter(itertools.chain.from_iterable(ids), dtype=np.int64)
        np.clip(flat, 0, len(self._table) - 1, out=flat)
        starts = np.concatenate(([0], np.cumsum(counts)[:-1]))[filled]
        sums = np.add.reduceat(self._table[flat], starts, axis=0)
        norms = np.linalg.norm(sums, axis=1, keepdims=True)
        out[filled] = sums / np.where(norms > 0, norms, 1.0)
        return out


@functools.cache
def embedder() -> Embedder:
    """The bundled model, loaded once per process (about 0.2 s)."""
    try:
        import wordllama
        from safetensors import safe_open
        from wordllama.wordllama import WordLlama
    except ImportError as exc:
        raise SemanticUnavailable(
            f"semantic search needs its optional extra ({exc.name} is missing): {INSTALL_HINT}"
        ) from exc
    root = Path(wordllama.__file__).parent
    weights = root / "weights" / "l2_supercat_256.safetensors"
    tokenizer = root / "tokenizers" / "l2_supercat_tokenizer_config.json"
    for needed in (weights, tokenizer):
        if not needed.is_file():
            raise SemanticUnavailable(f"semantic search: {needed} is missing: {INSTALL_HINT}")
    with safe_open(str(weights), framework="np", device="cpu") as tensors:
        table = tensors.get_tensor("embedding.weight")
    return Embedder(table, WordLlama.load_tokenizer(tokenizer))


def to_blob(vectors: np.ndarray) -> bytes:
    """Rows stored as float16 (half the bytes; cosine ranks do not move at this precision)."""
    import numpy as np

    return np.ascontiguousarray(vectors, dtype=np.float16).tobytes()


def from_blob(blob: bytes, dim: int) -> np.ndarray:
    import numpy as np

    return np.frombuffer(blob, dtype=np.float16).reshape(-1, dim).astype(np.float32)
