"""Lagged listings: what `ListSecrets` and filtered `BatchGetSecretValue` see, the state of a drawn lag ago.

AWS: ListSecrets "might not reflect changes from the last five minutes". The model draws a lag per
listing in `[--lag-floor, --lag]` (so a later listing may see an older state), tag changes apart from
creates and deletes, and with `--lag-tail-probability` now and then a lag past the bound (up to
`--lag-tail` more): a bound is what the service mostly keeps, not a promise.
"""

from __future__ import annotations

from typing import Any, Optional

from .filters import matches
from .state import DELETED, GONE, LIVE, Core, Event, Secret, Tags


class Listings(Core):
    def draw_lags(self) -> tuple[float, float]:
        """The lag of a listing's members and of its tags, drawn for one listing."""
        o = self.options
        with self.lock:
            tag_bound = o.lag if o.tag_lag is None else o.tag_lag
            tag_floor = o.lag_floor if o.tag_lag_floor is None else o.tag_lag_floor
            members = self._draw(o.lag_floor, max(o.lag, o.lag_floor), max(o.lag, o.lag_floor))
            tags = self._draw(min(tag_floor, tag_bound), max(tag_bound, tag_floor), tag_bound)
            self.stats["lagged_answers"] += 1
        return members, tags

    def _draw(self, low: float, high: float, bound: float) -> float:
        # One uniform draw as before when there is no tail (a seed's draws stay the same), and a second
        # only when there is one.
        lag = self.rng.uniform(low, high)
        chance = self.options.lag_tail_probability
        if chance > 0 and self.rng.random() < chance:
            tail = bound if self.options.lag_tail is None else self.options.lag_tail
            lag = bound + self.rng.uniform(0, tail)
            self.stats["lag_tails"] += 1
        return lag

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
                seen = _as_listed(secret, now - member_lag, now - tag_lag, include_deleted)
                if seen is not None and matches(filters, name, seen[0]):
                    found.append((name, dict(seen[0]), secret, seen[1]))
        found.sort(key=lambda f: f[0])
        return found

    def lagged_listing(self, current: list[dict[str, Any]], include_deleted: bool) -> list[dict[str, Any]]:
        """An unfiltered listing as it lags: LocalStack's `current` entries, those of secrets the model
        knows as they were (missing if created since, back if deleted since, with their older tags);
        secrets the model never saw as they are."""
        member_lag, tag_lag = self.draw_lags()
        now = self.clock()
        shown, known = [], set()
        with self.lock:
            for entry in current:
                name = entry.get("Name", "")
                secret = self.secrets.get(name)
                if secret is None:
                    shown.append(entry)
                    continue
                known.add(name)
                seen = _as_listed(secret, now - member_lag, now - tag_lag, include_deleted)
                if seen is not None:
                    shown.append(_lagged_entry(self, entry, seen[0], seen[1]))
            for name in sorted(set(self.secrets) - known):
                secret = self.secrets[name]
                seen = _as_listed(secret, now - member_lag, now - tag_lag, include_deleted)
                if seen is not None:
                    shown.append(list_entry(self, name, seen[0], secret, seen[1]))
        return shown


def _as_listed(
    secret: Secret, member_moment: float, tag_moment: float, include_deleted: bool
) -> Optional[tuple[Tags, Event]]:
    """The secret as a listing lagging to those moments shows it (its tags, and its state), or None
    when it does not show it."""
    member = secret.at(member_moment)
    if member is None or member.state == GONE:
        return None
    if member.state == DELETED and not include_deleted:
        return None
    tagged = secret.at(tag_moment) or secret.history[0]
    return tagged.tags, member


def _lagged_entry(model: Core, entry: dict[str, Any], tags: Tags, member: Event) -> dict[str, Any]:
    entry = dict(entry)
    entry["Tags"] = [{"Key": k, "Value": v} for k, v in sorted(tags.items())]
    entry.pop("DeletedDate", None)
    if member.state == DELETED:
        entry["DeletedDate"] = model.wall(member.when)
    return entry


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
