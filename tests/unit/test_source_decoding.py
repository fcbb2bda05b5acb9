"""PEP 263 decoding of repository sources, in core.git's one blob reader."""

from controlroom.core.git import GitRepository
from controlroom.core.sourcetext import decode_python, decode_text

LATIN1 = '# -*- coding: latin-1 -*-\nname = "caf\xe9"\n'.encode("latin-1")


def test_decode_python_follows_the_cookie_and_the_bom():
    assert decode_python(LATIN1) == '# -*- coding: latin-1 -*-\nname = "caf\xe9"\n'
    assert decode_python(b"\xef\xbb\xbfx = 1\n") == "x = 1\n"
    assert decode_python(b"x = '\xe9'\n") is None  # no cookie: UTF-8, and this is not
    assert decode_python(b"# coding: no-such-codec\nx = 1\n") is None
    assert decode_text(LATIN1, "notes.txt") is None  # cookies mean nothing outside Python


def test_changeset_and_blob_text_decode_a_latin1_module(repo):
    sha = repo.commit({"legacy.py": LATIN1}, "old module")
    with GitRepository(repo.path) as git:
        change = git.changeset(sha)
        (legacy,) = change.files
        assert legacy.skipped_reason is None
        assert legacy.new_text is not None and "caf\xe9" in legacy.new_text
        assert git.blob_text(sha, "legacy.py") == legacy.new_text
        assert git.blob_text(sha, "legacy.py", max_bytes=10) is None


def test_bulk_readers_skip_blobs_over_the_cap_before_reading_them(repo):
    from controlroom.agents.impact.blast import read_texts
    from controlroom.core.blobs import max_file_bytes, read_blobs

    sha = repo.commit({"big.py": "x = 1\n" * 1000, "legacy.py": LATIN1, "ok.py": "y = 2\n"})
    found = read_blobs(repo.path, [f"{sha}:big.py", f"{sha}:ok.py", f"{sha}:nope.py"], 100)
    assert found == {f"{sha}:ok.py": b"y = 2\n"}
    texts = read_texts(repo.path, sha, ["big.py", "legacy.py", "ok.py"], max_bytes=100)
    assert set(texts) == {"legacy.py", "ok.py"} and "caf\xe9" in texts["legacy.py"]
    assert max_file_bytes({"git": {"max_file_bytes": 5}}) == 5
