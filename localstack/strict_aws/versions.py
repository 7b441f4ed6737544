"""The versions each secret holds, and AWS's quota on them."""

from __future__ import annotations

from .state import Core, Secret


class Versions(Core):
    def has_version(self, name: str, token: str) -> bool:
        with self.lock:
            secret = self.secrets.get(name)
            return secret is not None and any(t == token for _, t in secret.versions)

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
