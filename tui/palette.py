"""The command palette (ctrl+p), fed by the action registry and aware of where the focus is."""

from __future__ import annotations

from functools import partial

from textual.actions import parse
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.dom import DOMNode

from controlroom.tui.actions import ACTIONS, Action, is_read_only


class RegistryCommands(Provider):
    """Every registry action the focused widget, its panes, the screen and the app allow now."""

    def _candidates(self) -> list[tuple[Action, DOMNode]]:
        chain: list[DOMNode] = []
        node: DOMNode | None = self.focused or self.screen
        while node is not None:
            chain.append(node)
            node = node.parent
        if self.app not in chain:
            chain.append(self.app)
        read_only = is_read_only(self.app)
        found: list[tuple[Action, DOMNode]] = []
        for owner in chain:
            scope = getattr(owner, "ACTION_SCOPE", None)
            if scope is None:
                continue
            for action in ACTIONS.visible([scope], read_only=read_only):
                if not action.palette:
                    continue
                _, name, params = parse(action.action)
                if owner.check_action(name, params) is True:
                    found.append((action, owner))
        return found

    def _label(self, action: Action) -> str:
        return f"{action.description} ({action.display_keys})"

    async def discover(self) -> Hits:
        for action, owner in self._candidates():
            yield DiscoveryHit(
                self._label(action),
                partial(self.app.run_action, action.action, owner),
                help=action.help or None,
            )

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for action, owner in self._candidates():
            label = self._label(action)
            score = matcher.match(f"{label} {action.help}")
            if score > 0:
                yield Hit(
                    score,
                    matcher.highlight(label),
                    partial(self.app.run_action, action.action, owner),
                    text=label,
                    help=action.help or None,
                )
