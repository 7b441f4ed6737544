"""Throttling: AWS's ThrottlingException, at a chosen rate."""

from __future__ import annotations

from .state import Core


class Throttling(Core):
    def throttled(self) -> bool:
        if self.options.throttle <= 0:
            return False
        with self.lock:
            hit = self.rng.random() < self.options.throttle
            if hit:
                self.stats["throttled"] += 1
            return hit
