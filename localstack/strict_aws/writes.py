"""Writes as AWS takes them: refused on a secret scheduled for deletion, creates exclusive per name, the
version quota checked before a value write, and what succeeded recorded in the model."""

from __future__ import annotations

from typing import Any

from .errors import MARKED_FOR_DELETION, SCHEDULED_FOR_DELETION, error_body
from .state import DELETED, LIVE
from .upstream import Upstream

# Writes AWS refuses on a secret in its recovery window.
STATE_WRITES = ("PutSecretValue", "UpdateSecretVersionStage", "UpdateSecret", "TagResource", "UntagResource", "RotateSecret")


class Writes(Upstream):
    def write(
        self, operation: str, payload: dict[str, Any], headers: dict[str, str], name: str
    ) -> tuple[int, dict[str, Any]] | None:
        """The answer to a write the model rules on, or None to pass the request on as it is."""
        m = self.model
        if operation in STATE_WRITES and m.is_deleted(name):
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
                    return error_body("InvalidRequestException", SCHEDULED_FOR_DELETION)
                return self.forward_and_record(operation, payload, headers, name)
        return None

    def forward_and_record(
        self, operation: str, payload: dict[str, Any], headers: dict[str, str], name: str
    ) -> tuple[int, dict[str, Any]]:
        status, answer = self.call(operation, payload, headers)
        if status == 200:
            self.record(operation, payload, name, answer)
        return status, answer

    def record(self, operation: str, payload: dict[str, Any], name: str, answer: dict[str, Any]) -> None:
        """What a successful write changed, as the model keeps it."""
        m = self.model
        token = payload.get("ClientRequestToken", "")
        makes_version = operation == "PutSecretValue" or (
            operation in ("CreateSecret", "UpdateSecret")
            and ("SecretString" in payload or "SecretBinary" in payload)
        )
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
