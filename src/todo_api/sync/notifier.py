"""What a commit sets going in this process: built and wired once, in the app's lifespan.

A write that commits changes tells `committed` whose feeds they are in (the store does, after
its unit of work commits): the horizon moves on to cover them, and the background jobs look
again (the write may have set a reminder sooner than their next look). Once the horizon has
passed them, it tells `final`: this process's event streams and webhooks follow those feeds.
"""

from collections.abc import Callable

Listener = Callable[[set[str]], None]


class Notifier:
    """The two moments of a change (committed, then final) and who hears of each."""

    def __init__(self) -> None:
        self._on_commit: list[Listener] = []
        self._on_final: list[Listener] = []

    def on_commit(self, listener: Listener) -> None:
        """Have `listener` told the feeds of every commit that wrote changes."""
        self._on_commit.append(listener)

    def on_final(self, listener: Listener) -> None:
        """Have `listener` told the feeds whose new changes became final."""
        self._on_final.append(listener)

    def committed(self, feeds: set[str]) -> None:
        """A write committed changes to these feeds."""
        for listener in self._on_commit:
            listener(feeds)

    def final(self, feeds: set[str]) -> None:
        """These feeds' changes are final up to the horizon."""
        for listener in self._on_final:
            listener(feeds)
