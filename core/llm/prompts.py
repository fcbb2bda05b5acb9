"""Versioned prompt files: ``data/prompts/<name>.v<N>.toml`` with ``system`` and ``user`` texts.

Placeholders are ``$name`` (string.Template); a missing variable is an error, never an empty hole.
The newest version of a name is used unless one is asked for; the ledger records ``name@vN``.
"""

from __future__ import annotations

import re
import string
import tomllib
from dataclasses import dataclass
from functools import cache
from typing import Any

from controlroom.data import data_file

_FILE = re.compile(r"^(?P<name>[a-z0-9_]+)\.v(?P<version>\d+)\.toml$")


@dataclass(frozen=True, slots=True)
class Prompt:
    name: str
    version: int
    system: str
    user: str
    tool_description: str

    @property
    def ref(self) -> str:
        return f"{self.name}@v{self.version}"

    @property
    def tool_name(self) -> str:
        return f"submit_{self.name}"

    def render(self, variables: dict[str, Any]) -> tuple[str, str]:
        """(system, user) with ``variables`` filled in; KeyError names a missing one."""
        values = {k: str(v) for k, v in variables.items()}
        return (
            string.Template(self.system).substitute(values),
            string.Template(self.user).substitute(values),
        )


@cache
def available_prompts() -> dict[str, dict[int, Prompt]]:
    found: dict[str, dict[int, Prompt]] = {}
    for entry in data_file("prompts").iterdir():
        match = _FILE.match(entry.name)
        if not match:
            continue
        document = tomllib.loads(entry.read_text(encoding="utf-8"))
        name, version = match["name"], int(match["version"])
        found.setdefault(name, {})[version] = Prompt(
            name=name,
            version=version,
            system=document["system"],
            user=document["user"],
            tool_description=document.get("tool_description", f"Submit the {name} result."),
        )
    return found


def load_prompt(name: str, version: int | None = None) -> Prompt:
    """The prompt ``name`` (newest version unless ``version``); KeyError if there is none."""
    versions = available_prompts().get(name)
    if not versions:
        raise KeyError(f"no prompt named {name!r} in data/prompts")
    if version is None:
        return versions[max(versions)]
    return versions[version]
