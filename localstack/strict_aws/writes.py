"""Writes as AWS takes them, one at a time per secret.

Each write to a name holds the name's lock from the model's checks through LocalStack's answer to what
the model records, so concurrent writers are checked as AWS checks them: `CreateSecret` exclusive, and
the version quota counted with every earlier write of the secret in (a check apart from the write it
admits would let a crowd of writers all pass it). The rules:
- writes to a secret in its recovery window, or whose forced delete is finishing, are refused
  (`InvalidRequestException`), and so is `CreateSecret` of such a name ("already scheduled for deletion");
- a value write past the version quota is refused (`LimitExceededException`, versions.py);
- a write retried with its `ClientRequestToken` and the same value makes no version; with another value
  it is refused (`ResourceExistsException`, "You can't use ClientRequestToken ..."), where LocalStack
  fails with an internal error; a `CreateSecret` retried so returns the first answer, where LocalStack
  refuses it as an existing secret (`--no-idempotent-creates` forwards both to LocalStack as before).
"""

from __future__ import annotations

from typing import Any, Optional

from .errors import MARKED_FOR_DELETION, SCHEDULED_FOR_DELETION, error_body
from .state import DELETED, LIVE
from .upstream import Upstream
from .versions import makes_version, value_digest

# Writes AWS refuses on a secret scheduled for deletion.
STATE_WRITES = ("PutSecretValue", "UpdateSecretVersionStage", "UpdateSecret", "TagResource", "UntagResource", "RotateSecret")
# Every write the model rules on. Each but RotateSecret runs under its secret's lock: LocalStack may run
# the rotation function within RotateSecret, and that function's own writes must not wait for it.
WRITES = STATE_WRITES + ("CreateSecret", "DeleteSecret", "RestoreSecret")
UNLOCKED = ("RotateSecret",)

Answer = tuple[int, dict[str, Any]]


class Writes(Upstream):
    def write(self, operation: str, payload: dict[str, Any], headers: dict[str, str], name: str) -> Optional[Answer]:
        """The answer to a write (None for anything else: the caller passes it on)."""
        if operation not in WRITES or not name:
            return None
        if operation in UNLOCKED:
            return self.locked_write(operation, payload, headers, name)
        with self.model.write_lock(name):
            return self.locked_write(operation, payload, headers, name)

    def locked_write(self, operation: str, payload: dict[str, Any], headers: dict[str, str], name: str) -> Answer:
        m = self.model
        if operation == "CreateSecret":
            return self.create(payload, headers, name)
        if operation in STATE_WRITES and m.is_deleted(name):
            m.count("deleted_write_refusals")
            return error_body("InvalidRequestException", MARKED_FOR_DELETION)
        if operation in STATE_WRITES and m.deleting(name):
            m.count("deleting_refusals")
            return error_body("InvalidRequestException", MARKED_FOR_DELETION)
        if makes_version(operation, payload):
            token = payload.get("ClientRequestToken", "")
            written, digest = m.written_with(name, token)
            if written and m.options.idempotent_creates and digest != value_digest(payload):
                return self.token_conflict(name, token)
            if not written and not m.admit_version(name, token):
                return error_body(
                    "LimitExceededException",
                    "You have exceeded the maximum number of versions (100) of this secret in 24 hours; "
                    "older versions are removed only after 24 hours.",
                )
        return self.forward_and_record(operation, payload, headers, name)

    def create(self, payload: dict[str, Any], headers: dict[str, str], name: str) -> Answer:
        m = self.model
        token = payload.get("ClientRequestToken", "")
        state = m.state_of(name)
        if state == LIVE and m.options.idempotent_creates:
            written, digest = m.written_with(name, token)
            if not written:
                return self.exists(name)
            if digest != value_digest(payload):
                return self.token_conflict(name, token)
            m.count("create_retries")
            return 200, m.create_answer(name, token)
        if state == LIVE and not (token and m.has_version(name, token)):
            return self.exists(name)
        if state == DELETED or m.deleting(name):
            if m.deleting(name):
                m.count("deleting_refusals")
            return error_body("InvalidRequestException", SCHEDULED_FOR_DELETION)
        return self.forward_and_record("CreateSecret", payload, headers, name)

    def exists(self, name: str) -> Answer:
        return error_body("ResourceExistsException", f"The operation failed because the secret {name} already exists.")

    def token_conflict(self, name: str, token: str) -> Answer:
        self.model.count("token_conflicts")
        return error_body(
            "ResourceExistsException",
            f"You can't use ClientRequestToken {token} because that value is already in use for a version "
            f"of secret {self.model.arn_of(name)}.",
        )

    def forward_and_record(self, operation: str, payload: dict[str, Any], headers: dict[str, str], name: str) -> Answer:
        status, answer = self.call(operation, payload, headers)
        if status == 200:
            self.record(operation, payload, name, answer)
        return status, answer

    def record(self, operation: str, payload: dict[str, Any], name: str, answer: dict[str, Any]) -> None:
        """What a successful write changed, as the model keeps it."""
        m = self.model
        token = payload.get("ClientRequestToken", "")
        if operation == "CreateSecret":
            tags = {t["Key"]: t.get("Value", "") for t in payload.get("Tags", [])}
            name = answer.get("Name", name)
            m.created(name, answer.get("ARN", name), tags, answer, token)
        elif operation == "TagResource":
            m.retagged(name, {t["Key"]: t.get("Value", "") for t in payload.get("Tags", [])}, [])
        elif operation == "UntagResource":
            m.retagged(name, {}, list(payload.get("TagKeys", [])))
        elif operation == "DeleteSecret":
            m.deleted(name, bool(payload.get("ForceDeleteWithoutRecovery")))
        elif operation == "RestoreSecret":
            m.restored(name)
        elif operation == "UpdateSecretVersionStage":
            m.restaged(name, payload.get("VersionStage", ""), payload.get("MoveToVersionId"), payload.get("RemoveFromVersionId"))
        if makes_version(operation, payload):
            m.versioned(name, answer.get("VersionId") or token, value_digest(payload), payload.get("VersionStages"))
