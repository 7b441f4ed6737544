#!/usr/bin/env python3
"""A strict model of AWS Secrets Manager in front of LocalStack: what AWS does and LocalStack does not.

Every client, in any language, reaches it through ``AWS_ENDPOINT_URL``; it forwards to LocalStack and
changes the answers the way AWS would (each behaviour switchable, every draw from one seeded RNG):

- ``--lag S``: filtered ``ListSecrets`` and filtered ``BatchGetSecretValue`` answer from the past, the
  state of ``lag`` seconds ago with ``lag`` drawn per request in ``[--lag-floor, S]`` (so a later read may
  see an older state), and tag changes lagging separately (``--tag-lag``) from creates and deletes.
  Reads by name (``GetSecretValue``, ``DescribeSecret``, ``BatchGetSecretValue`` by id) stay current.
  Only secrets created through this proxy are known to it, as with any listing lag model.
- ``--uneven-pages``: every paged answer (``ListSecrets``, filtered ``BatchGetSecretValue``) comes in pages
  of random size, empty ones included, each with a ``NextToken`` until the last; with
  ``--empty-first-pages`` every listing's first page is empty.
- ``--version-quota N`` and ``--version-window S``: AWS prunes old versions only beyond 100 and never one
  younger than 24 hours, so the N+1st value write (``CreateSecret`` with a value, ``PutSecretValue``,
  ``UpdateSecret`` with a value) to one secret within S seconds fails with ``LimitExceededException``. A
  retry with the same ``ClientRequestToken`` makes no version, as on AWS.
- ``--deny-read RE`` and ``--decryption-failure RE``: secrets whose name matches are listed but cannot be
  read: ``GetSecretValue`` fails, and ``BatchGetSecretValue`` reports them in ``Errors[]``
  (``AccessDeniedException``, ``DecryptionFailure``) while the call succeeds.
- writes to a secret scheduled for deletion are refused (``InvalidRequestException``), and
  ``CreateSecret`` is exclusive (of concurrent creates of one name exactly one wins), as on AWS.
- ``--throttle P``: each Secrets Manager request is refused with ``ThrottlingException`` with
  probability P.

``GET /_strict/stats`` returns what it did (lagged answers, pages, refusals), the versions each
secret holds within the window, every version ever written per secret name, and the requests it
received per operation (``calls``). ``POST /_strict/advance`` with ``{"seconds": S}`` moves the
model's time on by S (listings then show what they would S seconds later). Other services (KMS, STS) pass through untouched.

Usage: ``strict-aws --upstream http://127.0.0.1:4566 --port 0 --lag 300 --seed 1``; the first line on
standard output is ``strict-aws: listening on http://127.0.0.1:PORT``.
"""

from __future__ import annotations

import argparse
import http.client
import json
import random
import re
import sys
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Optional

Tags = dict[str, str]

MARKED_FOR_DELETION = (
    "You can't perform this operation on the secret because it was marked for deletion."
)


@dataclass
class Options:
    lag: float = 0.0
    lag_floor: float = 0.0
    tag_lag: Optional[float] = None
    tag_lag_floor: Optional[float] = None
    uneven_pages: bool = False
    empty_first_pages: bool = False
    version_quota: Optional[int] = None
    version_window: float = 24 * 3600.0
    deny_read: Optional[re.Pattern[str]] = None
    decryption_failure: Optional[re.Pattern[str]] = None
    throttle: float = 0.0
    seed: int = 0


LIVE, DELETED, GONE = "live", "deleted", "gone"


@dataclass
class Event:
    """One change of a secret as the listings see it: its state after (live, in its recovery window, or
    deleted for good) and its tags (the last live ones once deleted)."""

    when: float
    state: str
    tags: Tags


@dataclass
class Secret:
    """What the model knows of one secret: its history, oldest first, and its recent versions."""

    arn: str
    created_wall: float
    history: list[Event] = field(default_factory=list)
    # Version-making writes within the window: (when, client request token).
    versions: list[tuple[float, str]] = field(default_factory=list)
    # When its value last changed (a version was written).
    value_changed: float = 0.0

    def latest(self) -> Event:
        return self.history[-1]

    def at(self, moment: float) -> Optional[Event]:
        """The event in force at `moment`, or None if the secret did not exist yet."""
        for event in reversed(self.history):
            if event.when <= moment:
                return event
        return None


class Model:
    """The state the proxy keeps, behind one lock; `clock` is monotonic seconds (injectable in tests)."""

    def __init__(self, options: Options, clock: Callable[[], float] = time.monotonic):
        self.options = options
        self.base_clock = clock
        # Seconds `POST /_strict/advance` moved the model's time on: a client can see what AWS answers
        # once the listings caught up without waiting for them.
        self.advanced = 0.0
        self.rng = random.Random(options.seed)
        self.lock = threading.Lock()
        self.secrets: dict[str, Secret] = {}
        # One create at a time per name: AWS's CreateSecret is exclusive, LocalStack's is not quite
        # (two concurrent creates of one name can both succeed there).
        self.create_locks: dict[str, threading.Lock] = {}
        self.arns: dict[str, str] = {}
        # Paged answers still being read: token -> (remaining entries, key of the entries' list).
        self.pages: dict[str, tuple[list[Any], str]] = {}
        self.next_page = 0
        # Every version ever written, per secret name (deletions do not take them back).
        self.versions_written: dict[str, int] = {}
        # Every request, per operation (`secretsmanager.GetSecretValue`, `TrentService.Decrypt`, ...):
        # what a client cost, e.g. the calls a Lambda cold start makes before its first token.
        self.calls: dict[str, int] = {}
        self.stats: dict[str, int] = {
            "lagged_answers": 0,
            "pages": 0,
            "empty_pages": 0,
            "quota_refusals": 0,
            "read_refusals": 0,
            "deleted_write_refusals": 0,
            "throttled": 0,
        }

    # ---- names -----------------------------------------------------------------------------------

    def name_of(self, secret_id: str) -> str:
        with self.lock:
            return self.arns.get(secret_id, secret_id)

    # ---- recording changes -------------------------------------------------------------------------

    def wall(self, when: float) -> float:
        """A model time as seconds since the epoch (for the dates listings show)."""
        return time.time() - (self.clock() - when)

    def created(self, name: str, arn: str, tags: Tags) -> None:
        with self.lock:
            now = self.clock()
            previous = self.secrets.get(name)
            secret = Secret(arn=arn, created_wall=time.time(), value_changed=now)
            if previous is not None and previous.latest().state != GONE:
                # Recreated while we thought it existed: keep what we knew, as AWS keeps its versions.
                secret.history = previous.history
                secret.versions = previous.versions
            secret.history.append(Event(now, LIVE, dict(tags)))
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

    def create_lock(self, name: str) -> threading.Lock:
        with self.lock:
            return self.create_locks.setdefault(name, threading.Lock())

    def has_version(self, name: str, token: str) -> bool:
        with self.lock:
            secret = self.secrets.get(name)
            return secret is not None and any(t == token for _, t in secret.versions)

    def state_of(self, name: str) -> Optional[str]:
        """The known state of a name (live, deleted, gone), or None when the model never saw it."""
        with self.lock:
            secret = self.secrets.get(name)
            return secret.latest().state if secret is not None else None

    def is_deleted(self, name: str) -> bool:
        """Whether the secret is in its recovery window (a forced deletion leaves nothing to write to)."""
        with self.lock:
            secret = self.secrets.get(name)
            return secret is not None and secret.latest().state == DELETED

    # ---- the version quota -------------------------------------------------------------------------

    def admit_version(self, name: str, token: str) -> bool:
        """Whether a version-making write may go ahead (a retry of a recorded token always may)."""
        quota = self.options.version_quota
        with self.lock:
            secret = self.secrets.get(name)
            if secret is None or quota is None:
                return True
            self._prune(secret)
            if token and any(t == token for _, t in secret.versions):
                return True
            if len(secret.versions) >= quota:
                self.stats["quota_refusals"] += 1
                return False
            return True

    def versioned(self, name: str, token: str) -> None:
        with self.lock:
            secret = self.secrets.get(name)
            if secret is None:
                return
            if token and any(t == token for _, t in secret.versions):
                return
            now = self.clock()
            secret.versions.append((now, token or f"anonymous-{now}"))
            secret.value_changed = now
            self.versions_written[name] = self.versions_written.get(name, 0) + 1

    def _prune(self, secret: Secret) -> None:
        horizon = self.clock() - self.options.version_window
        secret.versions = [(w, t) for (w, t) in secret.versions if w > horizon]

    def versions_report(self) -> dict[str, int]:
        with self.lock:
            for secret in self.secrets.values():
                self._prune(secret)
            return {name: len(s.versions) for name, s in self.secrets.items() if s.versions}

    # ---- lagged listings ---------------------------------------------------------------------------

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

    # ---- pages -------------------------------------------------------------------------------------

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

    # ---- chance ------------------------------------------------------------------------------------

    def throttled(self) -> bool:
        if self.options.throttle <= 0:
            return False
        with self.lock:
            hit = self.rng.random() < self.options.throttle
            if hit:
                self.stats["throttled"] += 1
            return hit

    def clock(self) -> float:
        return self.base_clock() + self.advanced

    def advance(self, seconds: float) -> None:
        with self.lock:
            self.advanced += seconds

    def called(self, target: str) -> None:
        with self.lock:
            self.calls[target] = self.calls.get(target, 0) + 1

    def count(self, stat: str) -> None:
        with self.lock:
            self.stats[stat] += 1


def matches(filters: list[dict[str, Any]], name: str, tags: Tags) -> bool:
    """The service's filter semantics: prefix matching (case-sensitive), `!` negates, values within a
    filter OR'd, filters AND'd."""

    def one(key: str, value: str) -> bool:
        negate = value.startswith("!")
        value = value[1:] if negate else value
        if key == "name":
            hit = name.startswith(value)
        elif key == "tag-key":
            hit = any(k.startswith(value) for k in tags)
        elif key == "tag-value":
            hit = any(v.startswith(value) for v in tags.values())
        elif key == "all":
            low = value.lower()
            hit = name.lower().startswith(low) or any(
                k.lower().startswith(low) or v.lower().startswith(low) for k, v in tags.items()
            )
        else:
            raise ValueError(f"strict-aws does not model the filter key {key!r}")
        return hit != negate

    return all(any(one(f["Key"], v) for v in f.get("Values", [])) for f in filters)


def list_entry(model: Model, name: str, tags: Tags, secret: Secret, member: Event) -> dict[str, Any]:
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


def error_body(code: str, message: str) -> tuple[int, dict[str, Any]]:
    return 400, {"__type": code, "message": message, "Message": message}


class Proxy:
    """Forwards to LocalStack and applies the model."""

    def __init__(self, upstream: str, model: Model):
        parsed = urllib.parse.urlparse(upstream)
        self.host = parsed.hostname or "127.0.0.1"
        self.port = parsed.port or 80
        self.model = model
        self.local = threading.local()

    def forward(self, method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, str], bytes]:
        for attempt in range(2):
            conn = getattr(self.local, "conn", None)
            if conn is None:
                conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
                self.local.conn = conn
            try:
                conn.request(method, path, body=body, headers=headers)
                response = conn.getresponse()
                data = response.read()
                return response.status, dict(response.getheaders()), data
            except (http.client.HTTPException, OSError):
                conn.close()
                self.local.conn = None
                if attempt == 1:
                    raise
        raise AssertionError("unreachable")

    def call(self, target: str, payload: dict[str, Any], headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
        """Sends one Secrets Manager operation upstream with `payload`."""
        headers = dict(headers)
        headers["X-Amz-Target"] = f"secretsmanager.{target}"
        body = json.dumps(payload).encode()
        headers["Content-Length"] = str(len(body))
        status, _, data = self.forward("POST", "/", headers, body)
        return status, (json.loads(data) if data else {})

    # ---- one request -------------------------------------------------------------------------------

    def handle(self, operation: str, payload: dict[str, Any], headers: dict[str, str], raw: bytes) -> tuple[int, dict[str, Any]]:
        m = self.model
        if m.throttled():
            return error_body("ThrottlingException", "Rate exceeded")
        secret_id = payload.get("SecretId") or payload.get("Name") or ""
        name = m.name_of(secret_id) if secret_id else ""

        if operation in ("PutSecretValue", "UpdateSecretVersionStage", "UpdateSecret", "TagResource", "UntagResource", "RotateSecret") and m.is_deleted(name):
            m.count("deleted_write_refusals")
            return error_body("InvalidRequestException", MARKED_FOR_DELETION)

        makes_version = operation == "PutSecretValue" or (
            operation in ("CreateSecret", "UpdateSecret")
            and ("SecretString" in payload or "SecretBinary" in payload)
        )
        token = payload.get("ClientRequestToken", "")
        if makes_version and operation != "CreateSecret" and not m.admit_version(name, token):
            return error_body(
                "LimitExceededException",
                "You have exceeded the maximum number of versions (100) of this secret in 24 hours; "
                "older versions are removed only after 24 hours.",
            )

        if operation == "CreateSecret":
            with m.create_lock(name):
                state = m.state_of(name)
                # A retry of the create that made it (same ClientRequestToken) succeeds again, as on AWS.
                if state == LIVE and not (token and m.has_version(name, token)):
                    return error_body("ResourceExistsException", f"The operation failed because the secret {name} already exists.")
                if state == DELETED:
                    return error_body("InvalidRequestException", f"You can't create this secret because a secret with this name is already scheduled for deletion.")
                status, answer = self.call(operation, payload, headers)
                if status == 200:
                    self.record(operation, payload, name, answer, token, makes_version)
                return status, answer

        if operation == "GetSecretValue" and self.unreadable(name):
            return self.read_refusal(name)

        if operation == "ListSecrets" and payload.get("Filters"):
            return self.lagged_list(payload)
        if operation == "ListSecrets":
            return self.paged_passthrough(payload, headers)
        if operation == "BatchGetSecretValue" and payload.get("Filters"):
            return self.lagged_batch(payload, headers)
        if operation == "BatchGetSecretValue" and str(payload.get("NextToken", "")).startswith("strict-"):
            return self.lagged_batch(payload, headers)

        status, answer = self.call(operation, payload, headers)
        if status == 200:
            self.record(operation, payload, name, answer, token, makes_version)
        if status == 200 and operation == "BatchGetSecretValue":
            answer = self.split_unreadable(answer)
        return status, answer

    def record(self, operation: str, payload: dict[str, Any], name: str, answer: dict[str, Any], token: str, makes_version: bool) -> None:
        m = self.model
        if operation == "CreateSecret":
            tags = {t["Key"]: t.get("Value", "") for t in payload.get("Tags", [])}
            m.created(answer.get("Name", name), answer.get("ARN", name), tags)
            name = answer.get("Name", name)
        elif operation == "TagResource":
            m.retagged(name, {t["Key"]: t.get("Value", "") for t in payload.get("Tags", [])}, [])
        elif operation == "UntagResource":
            m.retagged(name, {}, list(payload.get("TagKeys", [])))
        elif operation == "DeleteSecret":
            m.deleted(name, bool(payload.get("ForceDeleteWithoutRecovery")))
        elif operation == "RestoreSecret":
            m.restored(name)
        if makes_version:
            m.versioned(name, answer.get("VersionId") or token)

    # ---- reads that AWS refuses --------------------------------------------------------------------

    def unreadable(self, name: str) -> Optional[str]:
        o = self.model.options
        if o.deny_read is not None and o.deny_read.search(name):
            return "AccessDeniedException"
        if o.decryption_failure is not None and o.decryption_failure.search(name):
            return "DecryptionFailure"
        return None

    def read_refusal(self, name: str) -> tuple[int, dict[str, Any]]:
        self.model.count("read_refusals")
        code = self.unreadable(name) or "AccessDeniedException"
        if code == "DecryptionFailure":
            return error_body("DecryptionFailure", "Secrets Manager can't decrypt the protected secret text using the provided KMS key.")
        return error_body("AccessDeniedException", f"User is not authorized to perform: secretsmanager:GetSecretValue on resource: {name}")

    def split_unreadable(self, answer: dict[str, Any]) -> dict[str, Any]:
        values, errors = [], list(answer.get("Errors", []))
        for entry in answer.get("SecretValues", []):
            code = self.unreadable(entry.get("Name", ""))
            if code is None:
                values.append(entry)
                continue
            self.model.count("read_refusals")
            errors.append({"SecretId": entry.get("ARN", entry.get("Name")), "ErrorCode": code, "Message": f"{code} (strict-aws)"})
        answer["SecretValues"] = values
        answer["Errors"] = errors
        return answer

    # ---- lagged and paged listings ---------------------------------------------------------------

    def next_page(
        self, payload: dict[str, Any], key: str, max_results: int, first_entries: Callable[[], list[Any]]
    ) -> tuple[list[Any], Optional[str]]:
        """The page a request asks for of a listing the proxy answers itself: the first one from
        `first_entries()`, a later one from where its `NextToken` left off."""
        token = payload.get("NextToken")
        if token:
            resumed = self.model.resume(token)
            if resumed is None:
                raise Refusal(*error_body("InvalidNextTokenException", "The NextToken value is invalid."))
            entries = resumed[0]
        else:
            entries = first_entries()
        return self.model.page(entries, key, max_results, first=not token)

    def lagged_list(self, payload: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        m = self.model
        include = bool(payload.get("IncludePlannedDeletion"))

        def entries() -> list[Any]:
            return [
                list_entry(m, n, t, s, e)
                for (n, t, s, e) in m.lagged_matches(payload["Filters"], False, include)
            ]

        page, next_token = self.next_page(payload, "SecretList", int(payload.get("MaxResults") or 100), entries)
        return 200, with_token({"SecretList": page}, next_token)

    def paged_passthrough(self, payload: dict[str, Any], headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
        """An unfiltered listing: current, but in uneven pages when they are on."""
        m = self.model
        if not (m.options.uneven_pages or m.options.empty_first_pages):
            return self.call("ListSecrets", payload, headers)

        def entries() -> list[Any]:
            found, upstream_token = [], None
            while True:
                ask = {k: v for k, v in payload.items() if k != "NextToken"}
                ask["MaxResults"] = 100
                if upstream_token:
                    ask["NextToken"] = upstream_token
                status, answer = self.call("ListSecrets", ask, headers)
                if status != 200:
                    raise Refusal(status, answer)
                found.extend(answer.get("SecretList", []))
                upstream_token = answer.get("NextToken")
                if not upstream_token:
                    return found

        page, next_token = self.next_page(payload, "SecretList", int(payload.get("MaxResults") or 100), entries)
        return 200, with_token({"SecretList": page}, next_token)

    def lagged_batch(self, payload: dict[str, Any], headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
        m = self.model

        def names() -> list[Any]:
            # Only secrets live now can be fetched by name; one deleted since was "gone" on AWS too.
            return [n for (n, _, _, _) in m.lagged_matches(payload["Filters"], True)]

        page, next_token = self.next_page(
            payload, "SecretValues", min(int(payload.get("MaxResults") or 20), 20), names
        )
        answer: dict[str, Any] = {"SecretValues": [], "Errors": []}
        if page:
            status, fetched = self.call("BatchGetSecretValue", {"SecretIdList": page}, headers)
            if status != 200:
                return status, fetched
            answer = self.split_unreadable(fetched)
            answer.pop("NextToken", None)
        return 200, with_token(answer, next_token)


class Refusal(Exception):
    """An answer other than success, raised from deep in a request."""

    def __init__(self, status: int, body: dict[str, Any]):
        super().__init__(body.get("__type", status))
        self.status = status
        self.body = body


def with_token(answer: dict[str, Any], token: Optional[str]) -> dict[str, Any]:
    if token:
        answer["NextToken"] = token
    return answer


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    proxy: Proxy

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        pass

    def send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        self.send_response(status)
        for key, value in headers.items():
            if key.lower() not in ("content-length", "transfer-encoding", "connection", "date", "server"):
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        if self.path.startswith("/_strict/stats"):
            m = self.proxy.model
            with m.lock:
                stats = dict(m.stats)
            stats["versions"] = m.versions_report()
            with m.lock:
                stats["versions_written"] = dict(m.versions_written)
                stats["calls"] = dict(m.calls)
            self.send(200, json.dumps(stats).encode(), {"Content-Type": "application/json"})
            return
        self.passthrough(b"")

    def do_POST(self) -> None:  # noqa: N802
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path.startswith("/_strict/advance"):
            self.proxy.model.advance(float(json.loads(body)["seconds"]))
            self.send(200, b"{}", {"Content-Type": "application/json"})
            return
        target = self.headers.get("X-Amz-Target", "")
        self.proxy.model.called(target or "other")
        if not target.startswith("secretsmanager."):
            self.passthrough(body)
            return
        operation = target.split(".", 1)[1]
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length", "connection")}
        try:
            payload = json.loads(body) if body else {}
            status, answer = self.proxy.handle(operation, payload, headers, body)
        except Refusal as refusal:
            status, answer = refusal.status, refusal.body
        except Exception as e:  # a bug here must show as a server error, not a hang
            print(f"strict-aws: {operation}: {e!r}", file=sys.stderr, flush=True)
            status, answer = 500, {"__type": "InternalFailure", "message": f"strict-aws: {e!r}"}
        extra = {"Content-Type": "application/x-amz-json-1.1"}
        if status != 200:
            extra["x-amzn-ErrorType"] = answer.get("__type", "")
        self.send(status, json.dumps(answer).encode(), extra)

    def passthrough(self, body: bytes) -> None:
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length", "connection")}
        headers["Content-Length"] = str(len(body))
        status, response_headers, data = self.proxy.forward(self.command, self.path, headers, body)
        self.send(status, data, response_headers)


def parse(argv: list[str]) -> tuple[argparse.Namespace, Options]:
    p = argparse.ArgumentParser(prog="strict-aws", description=__doc__.split("\n\n")[0])
    p.add_argument("--upstream", default="http://127.0.0.1:4566", help="LocalStack's endpoint")
    p.add_argument("--port", type=int, default=4599, help="port to listen on, on 127.0.0.1 (0: any free one)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--lag", type=float, default=0.0, help="listing lag bound, seconds (AWS: 300)")
    p.add_argument("--lag-floor", type=float, default=0.0, help="least listing lag, seconds")
    p.add_argument("--tag-lag", type=float, default=None, help="tag-change lag bound (default: --lag)")
    p.add_argument("--tag-lag-floor", type=float, default=None, help="least tag-change lag (default: --lag-floor)")
    p.add_argument("--uneven-pages", action="store_true", help="short and empty pages, with NextToken")
    p.add_argument("--empty-first-pages", action="store_true", help="every listing starts with an empty page")
    p.add_argument("--version-quota", type=int, default=None, help="value writes per secret per window (AWS: 100)")
    p.add_argument("--version-window", type=float, default=24 * 3600.0, help="seconds (AWS: 86400)")
    p.add_argument("--deny-read", default=None, help="regex: these secrets are listed but not readable")
    p.add_argument("--decryption-failure", default=None, help="regex: reading these fails to decrypt")
    p.add_argument("--throttle", type=float, default=0.0, help="probability of ThrottlingException")
    a = p.parse_args(argv)
    return a, Options(
        lag=a.lag,
        lag_floor=a.lag_floor,
        tag_lag=a.tag_lag,
        tag_lag_floor=a.tag_lag_floor,
        uneven_pages=a.uneven_pages,
        empty_first_pages=a.empty_first_pages,
        version_quota=a.version_quota,
        version_window=a.version_window,
        deny_read=re.compile(a.deny_read) if a.deny_read else None,
        decryption_failure=re.compile(a.decryption_failure) if a.decryption_failure else None,
        throttle=a.throttle,
        seed=a.seed,
    )


def main(argv: list[str]) -> None:
    args, options = parse(argv)
    proxy = Proxy(args.upstream, Model(options))
    Handler.proxy = proxy
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    print(f"strict-aws: listening on http://127.0.0.1:{server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main(sys.argv[1:])
