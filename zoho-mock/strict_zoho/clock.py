"""Zoho's time as the mock keeps it.

Every rule of the mock is stated in Zoho seconds, the durations Zoho documents (a token lives 3600 of
them, a grant 180, the refresh window is 600), whatever the scale. The clock runs `scale` times faster
than the machine's monotonic clock, so a test sees an hour pass in 3600 / scale real seconds, and
`advance` moves it on at once (for a test that wants a window to pass without waiting for it).

`pause` holds Zoho's time still until `resume`: for a scaled test whose harness takes real time that is
not Zoho's (six processes told to sign in with a grant that lives 0.8 s at 225x). Nothing ages, expires
or slides while paused; afterwards Zoho's time runs behind the clients' clocks by the pause, so access
tokens outlive the expiry their clients computed (which they never use past) and windows slide later.
"""

from __future__ import annotations

import threading
import time
from typing import Callable, Optional


class Clock:
    """Zoho seconds since the mock started: real time times `scale`, plus what `advance` added."""

    def __init__(self, scale: float = 1.0, source: Callable[[], float] = time.monotonic) -> None:
        if not scale > 0:
            raise ValueError(f"the time scale must be positive, not {scale!r}")
        self.scale = float(scale)
        self._source = source
        self._start = source()
        # The machine's time at the start, untouched by pauses and advances: what `elapsed` counts from.
        self._origin = self._start
        self._advanced = 0.0
        self._paused_at: Optional[float] = None
        self._lock = threading.Lock()

    def now(self) -> float:
        """Zoho seconds since the start."""
        with self._lock:
            real = self._source() if self._paused_at is None else self._paused_at
            return (real - self._start) * self.scale + self._advanced

    def elapsed(self) -> float:
        """Real seconds since the start, whatever was paused or advanced: the time clients live in (they
        turn `expires_in` into an expiry on their own clocks)."""
        return self._source() - self._origin

    def pause(self) -> None:
        """Holds Zoho's time still (a no-op when paused already)."""
        with self._lock:
            if self._paused_at is None:
                self._paused_at = self._source()

    def resume(self) -> None:
        """Lets Zoho's time run again from where it stood (a no-op when running)."""
        with self._lock:
            if self._paused_at is not None:
                self._start += self._source() - self._paused_at
                self._paused_at = None

    def paused(self) -> bool:
        with self._lock:
            return self._paused_at is not None

    def advance(self, zoho_seconds: float) -> float:
        """Moves Zoho's time on by `zoho_seconds` (never back: Zoho's clock does not run backwards, and a
        spent window or expired token must stay so). Returns the new time."""
        if zoho_seconds < 0:
            raise ValueError(f"time only moves on: cannot advance by {zoho_seconds!r} s")
        with self._lock:
            self._advanced += zoho_seconds
        return self.now()

    def advanced(self) -> float:
        """Zoho seconds added by `advance` so far."""
        with self._lock:
            return self._advanced

    def real(self, zoho_seconds: float) -> float:
        """How many real seconds `zoho_seconds` take at this scale."""
        return zoho_seconds / self.scale
