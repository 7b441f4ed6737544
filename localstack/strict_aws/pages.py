"""Pages of the listings the model answers itself: even, uneven (empty ones included) or empty first.

A `NextToken` stays good after it is used, as AWS's does: a client whose page request timed out or
whose answer was lost sends the same token again (the SDK's own retry does), and AWS answers it. Only
the oldest of many tokens are forgotten (AWS's expire too), and a forgotten one is refused with
`InvalidNextTokenException`.
"""

from __future__ import annotations

from typing import Any, Optional

from .state import Core

# Tokens kept: far more than the listings any test has under way at once.
KEPT_TOKENS = 10_000


class Pages(Core):
    def page(
        self, entries: list[Any], key: str, max_results: int, first: bool = False
    ) -> tuple[list[Any], Optional[str]]:
        """The next page of `entries` (the first of a listing when `first`), and the token of the rest
        when there is more."""
        with self.lock:
            if first and self.options.empty_first_pages:
                size = 0
            elif self.options.uneven_pages:
                # A third of the pages empty (with a NextToken while entries remain), the rest short.
                size = 0 if self.rng.random() < 1 / 3 else self.rng.randint(1, max(max_results, 1))
            else:
                size = max_results
            page = entries[:size]
            self.stats["pages"] += 1
            if not page:
                self.stats["empty_pages"] += 1
            if size >= len(entries):
                return page, None
            self.next_page += 1
            token = f"strict-{self.next_page}"
            # The listing itself and where the rest starts: kept tokens share one list, not a copy each.
            self.pages[token] = (entries, size, key, False)
            if len(self.pages) > KEPT_TOKENS:
                # Dicts keep insertion order: the first is the oldest.
                del self.pages[next(iter(self.pages))]
            return page, token

    def resume(self, token: str) -> Optional[tuple[list[Any], str]]:
        """The entries left after the page that handed out `token` (None for a token never handed
        out, or forgotten)."""
        with self.lock:
            kept = self.pages.get(token)
            if kept is None:
                return None
            entries, start, key, resumed = kept
            if resumed:
                self.stats["pages_asked_again"] += 1
            self.pages[token] = (entries, start, key, True)
            return entries[start:], key
