"""[signal] "not exercised by any test" only when coverage data says so: the static index sees
direct references, so its TEST001 says "no direct test reference" (a real repository, the real
agent)."""

from __future__ import annotations

from controlroom.agents.testgen.agent import TestGeneratorAgent
from controlroom.core.git import GitRepository
from controlroom.core.model import AgentContext

CLIENT = (
    "class Client:\n    def send(self, data):\n        return {body}\n\n\n"
    "def helper(data):\n    return {body}\n"
)
FIXTURE_TEST = (
    "import pytest\nfrom pkg.client import Client\n\n\n@pytest.fixture\ndef client():\n"
    "    return Client()\n\n\ndef test_send(client):\n    assert client.send(1) == 1\n"
)


async def test_the_static_index_claims_no_more_than_a_missing_direct_reference(repo):
    repo.commit({"pkg/__init__.py": "", "pkg/client.py": CLIENT.format(body="data")})
    sha = repo.commit({"pkg/client.py": CLIENT.format(body="data or None"),
                       "tests/test_client.py": FIXTURE_TEST})  # fmt: skip
    git = GitRepository(repo.path)
    ctx = AgentContext(
        repo_path=repo.path, config={"generate": False}, worktree_factory=git.worktree
    )
    out = await TestGeneratorAgent().analyze(git.changeset(sha), ctx)
    claims = {f.symbol: f.message for f in out.findings if f.rule == "TEST001"}
    assert list(claims) == ["helper"]  # send runs through the fixture's instance
    assert "not exercised by any test" not in claims["helper"]
    assert claims["helper"].startswith("helper has no direct test reference")
