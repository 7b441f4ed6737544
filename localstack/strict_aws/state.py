"""What the model knows of each secret and its clock: the history listings are drawn from, behind one lock."""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

from .options import Options

Tags = dict[str, str]

LIVE, DELETED, GONE = "live", "deleted", "gone"


@dataclass
class Event:
    """One change of a secret as the listings see it: its state after (live, in its recovery window, or
    deleted for good) and its tags (the last live ones once deleted)."""

    when: float
    state: str
    tags: Tags


@dataclass
class Version:
    """One version a secret holds: when it was written, its staging labels, and a digest of its value
    (to tell a retry of the write that made it from another value under the same token)."""

    id: str
    when: float
    labels: set[str]
    digest: Optional[str] = None


@dataclass
class Secret:
    """What the model knows of one secret: its history, oldest first, and the versions it holds."""

    arn: str
    created_wall: float
    history: list[Event] = field(default_factory=list)
    # Oldest first; AWS's pruning (versions.py) removes some.
    versions: list[Version] = field(default_factory=list)
    # Every version id (ClientRequestToken) ever written to it, with its value's digest: a retry is
    # recognised even after its version was pruned or lost its labels.
    tokens: dict[str, Optional[str]] = field(default_factory=dict)
    # The answer of the CreateSecret that made it, and that request's token: a retry gets it again.
    created_answer: dict[str, Any] = field(default_factory=dict)
    created_token: str = ""
    # When its value last changed (a version was written).
    value_changed: float = 0.0
    # Until when a forced delete is still finishing (model time; deletion.py).
    finishing_until: float = 0.0

    def latest(self) -> Event:
        return self.history[-1]

    def at(self, moment: float) -> Optional[Event]:
        """The event in force at `moment`, or None if the secret did not exist yet."""
        for event in reversed(self.history):
            if event.when <= moment:
                return event
        return None


class Core:
    """The state the proxy keeps, behind one lock; `clock` is monotonic seconds (injectable in tests).
    The model's other concerns (listings, pages, versions, deletion, throttling) build on it."""

    def __init__(self, options: Options, clock: Callable[[], float] = time.monotonic):
        self.options = options
        self.base_clock = clock
        # Seconds `POST /_strict/advance` moved the model's time on: a client can see what AWS answers
        # once the listings caught up without waiting for them.
        self.advanced = 0.0
        self.rng = random.Random(options.seed)
        self.lock = threading.Lock()
        self.secrets: dict[str, Secret] = {}
        # One write at a time per name, from the model's checks through LocalStack's answer to what the
        # model records: AWS's CreateSecret is exclusive (LocalStack's is not quite: two concurrent
        # creates of one name can both succeed there), and a quota checked apart from the write it
        # admits lets concurrent writers all pass it.
        self.write_locks: dict[str, threading.Lock] = {}
        self.arns: dict[str, str] = {}
        # Paged answers handed out: token -> (the listing's entries, where the rest starts, key of the
        # entries' list, whether the token was used already).
        self.pages: dict[str, tuple[list[Any], int, str, bool]] = {}
        self.next_page = 0
        # Every version ever written, per secret name (deletions do not take them back).
        self.versions_written: dict[str, int] = {}
        # Every request, per operation (`secretsmanager.GetSecretValue`, `TrentService.Decrypt`, ...):
        # what a client cost, e.g. the calls a Lambda cold start makes before its first token.
        self.calls: dict[str, int] = {}
        self.stats: dict[str, int] = {
            "lagged_answers": 0,
            "lag_tails": 0,
            "pages": 0,
            "empty_pages": 0,
            "pages_asked_again": 0,
            "quota_refusals": 0,
            "read_refusals": 0,
            "deleted_write_refusals": 0,
            "deleting_refusals": 0,
            "create_retries": 0,
            "token_conflicts": 0,
            "batch_gone_errors": 0,
            "filter_refusals": 0,
            "throttled": 0,
            "rate_limited": 0,
        }

    # ---- time --------------------------------------------------------------------------------------

    def clock(self) -> float:
        return self.base_clock() + self.advanced

    def advance(self, seconds: float) -> None:
        with self.lock:
            self.advanced += seconds

    def wall(self, when: float) -> float:
        """A model time as seconds since the epoch (for the dates listings show)."""
        return time.time() - (self.clock() - when)

    # ---- counting ----------------------------------------------------------------------------------

    def called(self, target: str) -> None:
        with self.lock:
            self.calls[target] = self.calls.get(target, 0) + 1

    def count(self, stat: str) -> None:
        with self.lock:
            self.stats[stat] += 1

    # ---- names and recorded changes ----------------------------------------------------------------

    def name_of(self, secret_id: str) -> str:
        with self.lock:
            return self.arns.get(secret_id, secret_id)

    def write_lock(self, name: str) -> threading.Lock:
        with self.lock:
            return self.write_locks.setdefault(name, threading.Lock())

    def created(self, name: str, arn: str, tags: Tags, answer: Optional[dict[str, Any]] = None, token: str = "") -> None:
        with self.lock:
            now = self.clock()
            previous = self.secrets.get(name)
            secret = Secret(arn=arn, created_wall=time.time(), value_changed=now)
            if previous is not None and previous.latest().state != GONE:
                # Recreated while we thought it existed: keep what we knew, as AWS keeps its versions.
                secret.history = previous.history
                secret.versions = previous.versions
                secret.tokens = previous.tokens
            secret.history.append(Event(now, LIVE, dict(tags)))
            secret.created_answer = dict(answer or {})
            secret.created_token = token
            self.secrets[name] = secret
            self.arns[arn] = name

    def retagged(self, name: str, add: Tags, remove: list[str]) -> None:
        with self.lock:
            secret = self.secrets.get(name)
            if secret is None or secret.latest().state != LIVE:
                return
            tags = dict(secret.latest().tags)
            tags.update(add)
            for key in remove:
                tags.pop(key, None)
            secret.history.append(Event(self.clock(), LIVE, tags))

    def state_of(self, name: str) -> Optional[str]:
        """The known state of a name (live, deleted, gone), or None when the model never saw it."""
        with self.lock:
            secret = self.secrets.get(name)
            return secret.latest().state if secret is not None else None

    def arn_of(self, name: str) -> str:
        with self.lock:
            secret = self.secrets.get(name)
            return secret.arn if secret is not None else name
