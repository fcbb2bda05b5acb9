"""``controlroom llm check`` (the installed command) against the local fake: one tiny call per
tier on success; a wrong key, an unknown model id and no network each one line and exit code 3;
no key exit code 2."""

from __future__ import annotations

import json
import socket

from tests.e2e.cli import run
from tests.fake_anthropic import FakeAnthropic

KEY = "sk-ant-test-0123456789"


def check(tmp_path, url: str, key: str = KEY, *extra: str):
    return run("llm", "check", *extra, cwd=tmp_path, ANTHROPIC_API_KEY=key, ANTHROPIC_BASE_URL=url)


def test_every_tier_answers(tmp_path):
    with FakeAnthropic() as fake:
        fake.default = fake.text(usage={"input_tokens": 12, "output_tokens": 3})
        result = check(tmp_path, fake.url)
        assert fake.count == 3 and fake.rejected == []
        models = [r.body["model"] for r in fake.requests]
    assert result.returncode == 0, result.stderr
    assert models == ["claude-haiku-5-5", "claude-sonnet-5-5", "claude-opus-5-5"]
    lines = result.stdout.splitlines()
    assert len(lines) == 3 and result.stderr == ""
    assert lines[0].startswith("haiku  claude-haiku-5-5: stop end_turn, 12 in / 3 out, $")
    assert "request req_fake_0001" in lines[0] and " ms, " in lines[0]


def test_json_output(tmp_path):
    with FakeAnthropic() as fake:
        fake.default = fake.text()
        result = check(tmp_path, fake.url, KEY, "--json")
    assert result.returncode == 0, result.stderr
    tiers = json.loads(result.stdout)["tiers"]
    assert [t["tier"] for t in tiers] == ["haiku", "sonnet", "opus"]
    assert all(t["ok"] and t["request_id"] and t["stop_reason"] == "end_turn" for t in tiers)


def test_a_wrong_key_is_one_line_and_exit_3(tmp_path):
    with FakeAnthropic(keys={"sk-ant-the-right-one"}) as fake:
        result = check(tmp_path, fake.url)
        assert fake.count == 1  # one tier is enough to know the key is wrong
    assert result.returncode == 3
    [line] = result.stderr.splitlines()
    assert line.startswith("controlroom: error: llm check: claude-haiku-5-5: HTTP 401")
    assert "API key was rejected" in line and "req_fake_0001" in line and KEY not in line
    assert "Traceback" not in result.stderr


def test_an_unknown_model_names_it(tmp_path):
    with FakeAnthropic(models=frozenset({"claude-haiku-5-5", "claude-sonnet-5-5"})) as fake:
        fake.default = fake.text()
        result = check(tmp_path, fake.url)
    assert result.returncode == 3
    [line] = result.stderr.splitlines()
    assert "claude-opus-5-5: HTTP 404 not_found_error: unknown model id 'claude-opus-5-5'" in line
    assert len(result.stdout.splitlines()) == 2  # the other tiers answered


def test_no_network_is_one_line(tmp_path):
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = check(tmp_path, f"http://127.0.0.1:{port}")
    assert result.returncode == 3
    [line] = result.stderr.splitlines()
    assert line.startswith("controlroom: error: llm check: claude-haiku-5-5: no connection")


def test_no_key_is_a_usage_error(tmp_path):
    result = run("llm", "check", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip() == "controlroom: error: llm check: ANTHROPIC_API_KEY is not set"
