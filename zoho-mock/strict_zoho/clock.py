"""Zoho's time as the mock keeps it.

Every rule of the mock is stated in Zoho seconds, the durations Zoho documents (a token lives 3600 of
them, a grant 180, the refresh window is 600), whatever the scale. The clock runs `scale` times faster
than the machine's monotonic clock, so a test sees an hour pass in 3600 / scale real seconds, and
`advance` moves it on at once (for a test that wants a window to pass without waiting for it).
"""

from __future__ import annotations

import threading
import time
from typing import Callable


class Clock:
    """Zoho seconds since the mock started: real time times `scale`, plus what `advance` added."""

    def __init__(self, scale: float = 1.0, source: Callable[[], float] = time.monotonic) -> None:
        if not scale > 0:
            raise ValueError(f"the time scale must be positive, not {scale!r}")
        self.scale = float(scale)
        self._source = source
        self._start = source()
        self._advanced = 0.0
        self._lock = threading.Lock()

    def now(self) -> float:
        """Zoho seconds since the start."""
        with self._lock:
            return (self._source() - self._start) * self.scale + self._advanced

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
