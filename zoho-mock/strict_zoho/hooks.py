"""What a test makes the mock do besides Zoho's rules, to line requests up by count rather than by time:

- `hold_exchanges_until` / `hold_refreshes_until` = N: answers of that kind wait until N requests of it
  have arrived since the mock started (at most HOLD_LIMIT real seconds; then the answer is an error that
  says so, which the test sees): every caller has then asked before any gets an answer;
- `hang_next_refresh`: the next refresh's answer waits until `release()` (at most HANG_LIMIT); `hung` is
  set once it arrived, so the test can kill its caller or act meanwhile;
- `slow_refreshes` = N with `refresh_delay` = S: the next N refresh answers each wait S real seconds (a
  slow Zoho).

Zoho acts on every request as it arrives (accounts.py mints the token, spends the grant); only the answer
waits, as when Zoho is slow to answer or the answer is lost with its killed caller.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Dict, Optional

HOLD_LIMIT = 30.0
HANG_LIMIT = 120.0
SETTINGS = ("hold_exchanges_until", "hold_refreshes_until", "hang_next_refresh", "slow_refreshes",
            "refresh_delay")


@dataclass
class Ticket:
    """What one arriving token request will wait for."""

    kind: str  # "exchange" or "refresh"
    hang: bool = False
    delay: float = 0.0


class Hooks:
    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.hold_exchanges_until = 0
        self.hold_refreshes_until = 0
        self.slow_refreshes = 0
        self.refresh_delay = 0.0
        self._hang_next_refresh = False
        self.hung = threading.Event()
        self.released = False
        self.arrivals: Dict[str, int] = {"exchange": 0, "refresh": 0}

    @property
    def hang_next_refresh(self) -> bool:
        return self._hang_next_refresh

    @hang_next_refresh.setter
    def hang_next_refresh(self, value: bool) -> None:
        with self.cond:
            self._hang_next_refresh = bool(value)
            if value:  # a new hang: not hung yet, not released yet
                self.hung.clear()
                self.released = False

    def configure(self, settings: Dict[str, object]) -> Dict[str, object]:
        """Sets any of SETTINGS (from a control request); unknown names are refused (ValueError)."""
        unknown = set(settings) - set(SETTINGS)
        if unknown:
            raise ValueError(f"unknown hook settings {sorted(unknown)}; known: {list(SETTINGS)}")
        for name, value in settings.items():
            if name == "hang_next_refresh":
                self.hang_next_refresh = bool(value)
            elif name == "refresh_delay":
                self.refresh_delay = float(value)  # type: ignore[arg-type]
            else:
                setattr(self, name, int(value))  # type: ignore[call-overload]
        with self.cond:
            self.cond.notify_all()
        return self.report()

    def release(self) -> None:
        """Lets the hung refresh (or the next one to hang, if none has yet) answer."""
        with self.cond:
            self.released = True
            self.cond.notify_all()

    def arrived(self, kind: str) -> Ticket:
        """Counts a token request as it arrives; says what its answer will wait for."""
        with self.cond:
            self.arrivals[kind] += 1
            ticket = Ticket(kind)
            if kind == "refresh":
                if self._hang_next_refresh:
                    self._hang_next_refresh = False
                    ticket.hang = True
                    self.hung.set()
                if self.slow_refreshes > 0:
                    self.slow_refreshes -= 1
                    ticket.delay = self.refresh_delay
            self.cond.notify_all()
            return ticket

    def wait(self, ticket: Ticket) -> Optional[str]:
        """Waits as the ticket says; returns why the answer must be an error (a hold not met), or None."""
        if ticket.delay:
            time.sleep(ticket.delay)
        with self.cond:
            if ticket.hang:
                self.cond.wait_for(lambda: self.released, HANG_LIMIT)

            def enough() -> bool:
                until = self.hold_refreshes_until if ticket.kind == "refresh" else self.hold_exchanges_until
                return self.arrivals[ticket.kind] >= until

            if not self.cond.wait_for(enough, HOLD_LIMIT):
                return f"held for {HOLD_LIMIT:g} s: fewer {ticket.kind} requests came than the test expected"
        return None

    def report(self) -> Dict[str, object]:
        with self.cond:
            return {"hold_exchanges_until": self.hold_exchanges_until,
                    "hold_refreshes_until": self.hold_refreshes_until,
                    "hang_next_refresh": self._hang_next_refresh, "hung": self.hung.is_set(),
                    "released": self.released, "slow_refreshes": self.slow_refreshes,
                    "refresh_delay": self.refresh_delay}
