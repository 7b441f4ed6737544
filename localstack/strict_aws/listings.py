"""Lagged listings: what `ListSecrets` and filtered `BatchGetSecretValue` see, the state of a drawn lag ago."""

from __future__ import annotations

from typing import Any

from .filters import matches
from .state import DELETED, GONE, LIVE, Core, Event, Secret, Tags


class Listings(Core):
    def draw_lags(self) -> tuple[float, float]:
        o = self.options
        with self.lock:
            members = self.rng.uniform(o.lag_floor, max(o.lag, o.lag_floor))
            tag_bound = o.lag if o.tag_lag is None else o.tag_lag
            tag_floor = o.lag_floor if o.tag_lag_floor is None else o.tag_lag_floor
            tags = self.rng.uniform(min(tag_floor, tag_bound), max(tag_bound, tag_floor))
            self.stats["lagged_answers"] += 1
        return members, tags

    def lagged_matches(
        self, filters: list[dict[str, Any]], live_now: bool, include_deleted: bool = False
    ) -> list[tuple[str, Tags, Secret, Event]]:
        """Secrets that matched `filters` as the listings see them now: which exist as of `lag` ago, with
        their tags as of `tag lag` ago (the first tags they had, if created between the two moments).
        `live_now`: only those still live now (what can still be fetched by name)."""
        member_lag, tag_lag = self.draw_lags()
        now = self.clock()
        found = []
        with self.lock:
            for name, secret in self.secrets.items():
                if live_now and secret.latest().state != LIVE:
                    continue
                member = secret.at(now - member_lag)
                if member is None or member.state == GONE:
                    continue
                if member.state == DELETED and not include_deleted:
                    continue
                tagged = secret.at(now - tag_lag) or secret.history[0]
                if matches(filters, name, tagged.tags):
                    found.append((name, dict(tagged.tags), secret, member))
        found.sort(key=lambda f: f[0])
        return found


def list_entry(model: Core, name: str, tags: Tags, secret: Secret, member: Event) -> dict[str, Any]:
    """A `SecretList` entry as a lagged listing shows it."""
    entry: dict[str, Any] = {
        "ARN": secret.arn,
        "Name": name,
        "Tags": [{"Key": k, "Value": v} for k, v in sorted(tags.items())],
        "CreatedDate": secret.created_wall,
        "LastChangedDate": model.wall(max(member.when, secret.value_changed)),
    }
    if member.state == DELETED:
        entry["DeletedDate"] = model.wall(member.when)
    return entry
