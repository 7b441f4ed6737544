"""Secrets AWS lists but will not return: access denied, or a KMS key that cannot decrypt."""

from __future__ import annotations

from typing import Any, Optional

from .errors import error_body
from .upstream import Upstream


class Reads(Upstream):
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
        """A batch answer with the unreadable secrets moved from its values to its `Errors[]`."""
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
