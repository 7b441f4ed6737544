"""The versions each secret holds, counted as AWS counts them, and its quota on them.

AWS keeps every version that carries a staging label (AWSCURRENT, AWSPREVIOUS, AWSPENDING or a custom
one), and removes unlabelled versions only when a secret holds more than 100, never one younger than 24
hours (reference_limits: "Secrets Manager removes unlabeled versions when there are more than 100, but
it does not remove versions created less than 24 hours ago"). So the 101st value write within a day
fails with LimitExceededException, and so does any write to a secret whose labelled versions fill it.
A write retried with its ClientRequestToken makes no version.

The labels follow the writes the model sees: a new value takes the stages it names (AWSCURRENT when it
names none) from the versions that had them, and the version that loses AWSCURRENT gets AWSPREVIOUS;
`UpdateSecretVersionStage` moves or removes one. Versions written past the proxy (a rotation Lambda
calling LocalStack directly) are not seen.
"""

from __future__ import annotations

import hashlib
from typing import Any, Optional

from .state import Core, Secret, Version

CURRENT, PREVIOUS = "AWSCURRENT", "AWSPREVIOUS"
# The count beyond which AWS prunes unlabelled versions, whether or not the quota is enforced.
AWS_VERSIONS = 100


def value_digest(payload: dict[str, Any]) -> Optional[str]:
    """A digest of the value a write carries (None without one): what tells a retry from a new value."""
    for key in ("SecretString", "SecretBinary"):
        if key in payload:
            return hashlib.sha256(f"{key}:{payload[key]}".encode()).hexdigest()
    return None


def makes_version(operation: str, payload: dict[str, Any]) -> bool:
    """Whether a write makes a version: every value write (`CreateSecret` or `UpdateSecret` with a
    value, `PutSecretValue`)."""
    return operation == "PutSecretValue" or (
        operation in ("CreateSecret", "UpdateSecret") and value_digest(payload) is not None
    )


class Versions(Core):
    def has_version(self, name: str, token: str) -> bool:
        with self.lock:
            secret = self.secrets.get(name)
            return secret is not None and token in secret.tokens

    def written_with(self, name: str, token: str) -> tuple[bool, Optional[str]]:
        """Whether a version of the secret was written with `token`, and its value's digest."""
        with self.lock:
            secret = self.secrets.get(name)
            if secret is None or not token or token not in secret.tokens:
                return False, None
            return True, secret.tokens[token]

    def create_answer(self, name: str, token: str) -> dict[str, Any]:
        """What a `CreateSecret` retried with `token` answers: the first answer when `token` made the
        secret, the secret and that version otherwise."""
        with self.lock:
            secret = self.secrets[name]
            if token == secret.created_token and secret.created_answer:
                return dict(secret.created_answer)
            return {"ARN": secret.arn, "Name": name, "VersionId": token}

    def admit_version(self, name: str, token: str) -> bool:
        """Whether a version-making write may go ahead (a retry of a recorded token always may). The
        caller holds the secret's write lock from this check until the write is recorded."""
        quota = self.options.version_quota
        with self.lock:
            secret = self.secrets.get(name)
            if secret is None or quota is None:
                return True
            if token and token in secret.tokens:
                return True
            self._prune(secret, incoming=1)
            if len(secret.versions) >= quota:
                self.stats["quota_refusals"] += 1
                return False
            return True

    def versioned(
        self,
        name: str,
        version_id: str,
        digest: Optional[str] = None,
        stages: Optional[list[str]] = None,
    ) -> None:
        """Records a version written to the secret, with the stages it took (AWSCURRENT by default)."""
        with self.lock:
            secret = self.secrets.get(name)
            if secret is None:
                return
            if version_id and version_id in secret.tokens:
                return
            now = self.clock()
            version = Version(version_id or f"anonymous-{now}", now, set(), digest)
            for stage in stages or [CURRENT]:
                self._move(secret, stage, version)
            self._prune(secret, incoming=1)
            secret.versions.append(version)
            secret.tokens[version.id] = digest
            secret.value_changed = now
            self.versions_written[name] = self.versions_written.get(name, 0) + 1

    def restaged(self, name: str, stage: str, move_to: Optional[str], remove_from: Optional[str]) -> None:
        """Records an `UpdateSecretVersionStage`: `stage` moved to `move_to`, or removed from
        `remove_from` when there is no target."""
        with self.lock:
            secret = self.secrets.get(name)
            if secret is None:
                return
            if move_to:
                target = next((v for v in secret.versions if v.id == move_to), None)
                if target is not None:
                    self._move(secret, stage, target)
            elif remove_from:
                for version in secret.versions:
                    if version.id == remove_from:
                        version.labels.discard(stage)

    def labels_of(self, name: str) -> dict[str, list[str]]:
        """The labelled versions of the secret: version id -> its stages, sorted."""
        with self.lock:
            secret = self.secrets.get(name)
            if secret is None:
                return {}
            return {v.id: sorted(v.labels) for v in secret.versions if v.labels}

    def versions_report(self) -> dict[str, int]:
        """The versions each secret holds now (what AWS counts against the quota)."""
        with self.lock:
            for secret in self.secrets.values():
                self._prune(secret, incoming=0)
            return {name: len(s.versions) for name, s in self.secrets.items() if s.versions}

    # ---- under the lock ----------------------------------------------------------------------------

    def _move(self, secret: Secret, stage: str, target: Version) -> None:
        """Puts `stage` on `target`, taking it from the version that had it: a label marks one version
        at a time, and the version AWSCURRENT leaves gets AWSPREVIOUS."""
        for version in secret.versions:
            if version is target or stage not in version.labels:
                continue
            version.labels.discard(stage)
            if stage == CURRENT:
                for other in secret.versions:
                    other.labels.discard(PREVIOUS)
                version.labels.add(PREVIOUS)
        target.labels.add(stage)
        if stage == CURRENT:
            target.labels.discard(PREVIOUS)

    def _prune(self, secret: Secret, incoming: int) -> None:
        """AWS's pruning before `incoming` more versions: unlabelled versions older than the window go,
        oldest first, while the secret would hold more than its limit. With `version_count_writes`, the
        old count instead: every version older than the window goes, labelled or not."""
        horizon = self.clock() - self.options.version_window
        if self.options.version_count_writes:
            secret.versions = [v for v in secret.versions if v.when > horizon]
            return
        limit = self.options.version_quota or AWS_VERSIONS
        excess = len(secret.versions) + incoming - limit
        if excess <= 0:
            return
        kept = []
        for version in secret.versions:
            if excess > 0 and not version.labels and version.when <= horizon:
                excess -= 1
                continue
            kept.append(version)
        secret.versions = kept
