"""Decoding a repository's files: Python sources by PEP 263 (coding cookie, BOM), others as UTF-8."""

from __future__ import annotations

import io
import tokenize


def decode_python(data: bytes) -> str | None:
    """The text of Python source ``data`` as the interpreter would read it; None if undecodable.

    Follows ``tokenize.detect_encoding``: a UTF-8 BOM or a ``# -*- coding: NAME -*-`` cookie in
    the first two lines, UTF-8 otherwise. Newlines are kept as they are (no translation).
    """
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
        text = data.decode(encoding)
    except (SyntaxError, LookupError, UnicodeDecodeError):
        return None
    return text[1:] if text.startswith("\ufeff") else text


def decode_text(data: bytes, path: str) -> str | None:
    """``data`` of the file ``path`` as text: PEP 263 for ``.py``/``.pyi``, UTF-8 for the rest."""
    if path.endswith((".py", ".pyi")):
        return decode_python(data)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None
