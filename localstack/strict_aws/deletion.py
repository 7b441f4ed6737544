"""Deletion as AWS has it: a recovery window that refuses writes until a restore, or a forced delete."""

from __future__ import annotations

from .state import DELETED, GONE, LIVE, Core, Event


class Deletion(Core):
    def deleted(self, name: str, forced: bool) -> None:
        with self.lock:
            secret = self.secrets.get(name)
            if secret is not None:
                secret.history.append(Event(self.clock(), GONE if forced else DELETED, secret.latest().tags))
                if forced:
                    # Gone for good: a new secret by that name starts with no versions.
                    secret.versions.clear()

    def restored(self, name: str) -> None:
        with self.lock:
            secret = self.secrets.get(name)
            if secret is not None and secret.latest().state == DELETED:
                secret.history.append(Event(self.clock(), LIVE, dict(secret.latest().tags)))

    def is_deleted(self, name: str) -> bool:
        """Whether the secret is in its recovery window (a forced deletion leaves nothing to write to)."""
        with self.lock:
            secret = self.secrets.get(name)
            return secret is not None and secret.latest().state == DELETED
