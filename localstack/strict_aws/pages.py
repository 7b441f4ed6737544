"""Pages of the listings the model answers itself: even, uneven (empty ones included) or empty first."""

from __future__ import annotations

from typing import Any, Optional

from .state import Core


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
            page, rest = entries[:size], entries[size:]
            self.stats["pages"] += 1
            if not page:
                self.stats["empty_pages"] += 1
            if not rest:
                return page, None
            self.next_page += 1
            token = f"strict-{self.next_page}"
            self.pages[token] = (rest, key)
            return page, token

    def resume(self, token: str) -> Optional[tuple[list[Any], str]]:
        with self.lock:
            return self.pages.pop(token, None)
