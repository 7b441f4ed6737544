"""Deletion as AWS has it: a recovery window that refuses writes until a restore, and a forced delete
that finishes a moment later (AWS deletes in the background: until then the name is still taken, its
value unreadable, and `CreateSecret` of it refused as "already scheduled for deletion")."""

from __future__ import annotations

from typing import Any, Optional

from .state import DELETED, GONE, LIVE, Core, Event


class Deletion(Core):
    def deleted(self, name: str, forced: bool) -> None:
        with self.lock:
            secret = self.secrets.get(name)
            if secret is None:
                return
            now = self.clock()
            if forced and secret.latest().state != GONE and self.options.force_delete_delay > 0:
                secret.finishing_until = now + self.options.force_delete_delay
            secret.history.append(Event(now, GONE if forced else DELETED, secret.latest().tags))
            if forced:
                # Gone for good: a new secret by that name starts with no versions.
                secret.versions.clear()
                secret.tokens.clear()

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

    def deleting(self, name: str) -> bool:
        """Whether a forced delete of the name is still finishing."""
        with self.lock:
            secret = self.secrets.get(name)
            return (
                secret is not None
                and secret.latest().state == GONE
                and self.clock() < secret.finishing_until
            )

    def readable_now(self, name: str) -> bool:
        """Whether a read by name finds the secret: live, not in its recovery window, not being deleted."""
        return self.state_of(name) == LIVE

    def finishing_description(self, name: str) -> Optional[dict[str, Any]]:
        """`DescribeSecret` of a secret whose forced delete is finishing: still there, with its deletion
        date (None when it is not being deleted)."""
        if not self.deleting(name):
            return None
        with self.lock:
            secret = self.secrets[name]
            event = secret.latest()
            return {
                "ARN": secret.arn,
                "Name": name,
                "Tags": [{"Key": k, "Value": v} for k, v in sorted(event.tags.items())],
                "CreatedDate": secret.created_wall,
                "LastChangedDate": self.wall(event.when),
                "DeletedDate": self.wall(event.when),
            }
