"""An IAM-enforcing pass-through in front of LocalStack, which does not enforce IAM itself: every Secrets
Manager and KMS request is judged against the identity policies of the role whose access key signed it
(deploy/iam_policy.py), answered `AccessDeniedException` as AWS answers it when they do not allow it, and
forwarded to LocalStack when they do. deploy/check-localstack runs the store's operations through it as
the stack's roles, with the policies it read back from LocalStack's IAM. Standard library only (and the
strict AWS model's forwarder, localstack/strict_aws/forwarder.py).

What each request is judged on, as AWS forms it:
- the action: `secretsmanager:<Op>` or `kms:<Op>` from `X-Amz-Target`;
- the resource: a secret's ARN as Secrets Manager forms it, `arn:aws:secretsmanager:REGION:ACCOUNT:
  secret:NAME-XXXXXX` (the name and six random characters): read from LocalStack for a secret that exists
  (LocalStack forms ARNs the same way), a fresh one for `CreateSecret`, and the bare `...:secret:NAME` for
  a secret that does not exist (AWS authorizes before it looks, so a grant on `NAME-??????` answers
  AccessDenied there, not ResourceNotFound). `ListSecrets` and `BatchGetSecretValue` take `*`;
  `BatchGetSecretValue` with filters also needs `ListSecrets`, and each secret it returns needs
  `GetSecretValue` on that secret (one it may not read comes back in `Errors`, as AWS answers). A
  `CreateSecret` with tags also needs `TagResource`. A KMS request: the key's ARN (an alias or key id is
  resolved through LocalStack), with `kms:EncryptionContext:<key>` and `kms:EncryptionContextKeys` from
  the request's encryption context;
- the condition keys a request carries: those above, `aws:RequestTag/<k>`, `aws:TagKeys`,
  `aws:ResourceTag/<k>` (the secret's tags), `secretsmanager:SecretId`, `secretsmanager:Name`.
Any other request (another service, a malformed one) is refused: nothing passes unjudged.

As a process: `python3 deploy/iam_proxy.py UPSTREAM POLICIES.json` (POLICIES: `{"<access key>": {"role":
NAME, "documents": {"<policy name>": policy, ...}}}`) prints `iam-proxy: listening on URL`; `GET /_iam/log` lists every
decision.
"""

from __future__ import annotations

import json
import random
import string
import sys
import threading
from dataclasses import asdict, dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Optional

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
# The strict AWS model's package: its keep-alive forwarder is the one LocalStack connection code.
sys.path.insert(0, str(HERE.parent / "localstack"))

from iam_policy import Decision, Unsupported, evaluate  # noqa: E402
from strict_aws.forwarder import Forwarder  # noqa: E402

# The access key LocalStack is asked with for the proxy's own look-ups (any key is its default account).
ADMIN_KEY = "test"


@dataclass(frozen=True)
class Role:
    name: str
    # Its identity policies (managed and inline) by name.
    documents: dict


@dataclass(frozen=True)
class Logged:
    """One authorization: who, what, on which resource, and what the policies said."""

    role: str
    action: str
    resource: str
    allowed: bool
    statements: tuple
    reason: str


class IamProxy:
    """The proxy: `start()` serves on 127.0.0.1 (a port of its own) until `stop()`."""

    def __init__(self, upstream: str, roles: dict[str, Role], region: str = "us-east-1",
                 account: str = "000000000000"):
        self.upstream = Forwarder(upstream)
        self.roles, self.region, self.account = roles, region, account
        self.lock = threading.Lock()
        self.log: list[Logged] = []
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802 - the control request
                with proxy.lock:
                    body = json.dumps([asdict(e) for e in proxy.log]).encode()
                self.answer(200, {"Content-Type": "application/json"}, body)

            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")}
                status, answer_headers, data = proxy.handle(self.path, headers, body)
                self.answer(status, answer_headers, data)

            def answer(self, status: int, headers: dict[str, str], body: bytes) -> None:
                self.send_response(status)
                for key, value in headers.items():
                    if key.lower() not in ("content-length", "transfer-encoding", "connection", "date", "server"):
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self) -> "IamProxy":
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def decisions(self, role: Optional[str] = None) -> list[Logged]:
        with self.lock:
            return [e for e in self.log if role is None or e.role == role]

    # Upstream (LocalStack): the role's requests as sent, and the proxy's own look-ups.

    def look_up(self, service: str, target: str, payload: dict) -> tuple[int, dict]:
        scope = "secretsmanager" if service == "secretsmanager" else "kms"
        headers = {"X-Amz-Target": target, "Content-Type": "application/x-amz-json-1.1",
                   "Authorization": f"AWS4-HMAC-SHA256 Credential={ADMIN_KEY}/20240101/{self.region}/{scope}/"
                                    f"aws4_request, SignedHeaders=host, Signature=0"}
        status, _, data = self.upstream.forward("POST", "/", headers, json.dumps(payload).encode())
        return status, (json.loads(data) if data else {})

    def secret(self, secret_id: str) -> tuple[str, dict[str, str]]:
        """A secret's ARN and tags; for one that does not exist, the ARN AWS authorizes against."""
        status, described = self.look_up("secretsmanager", "secretsmanager.DescribeSecret", {"SecretId": secret_id})
        if status == 200:
            return described["ARN"], {t["Key"]: t["Value"] for t in described.get("Tags", [])}
        if secret_id.startswith("arn:"):
            return secret_id, {}
        return f"arn:aws:secretsmanager:{self.region}:{self.account}:secret:{secret_id}", {}

    def new_secret_arn(self, name: str) -> str:
        suffix = "".join(random.choices(string.ascii_letters + string.digits, k=6))
        return f"arn:aws:secretsmanager:{self.region}:{self.account}:secret:{name}-{suffix}"

    def key_arn(self, key_id: str) -> str:
        status, described = self.look_up("kms", "TrentService.DescribeKey", {"KeyId": key_id})
        if status == 200:
            return described["KeyMetadata"]["Arn"]
        if key_id.startswith("arn:"):
            return key_id
        kind = "" if key_id.startswith("alias/") else "key/"
        return f"arn:aws:kms:{self.region}:{self.account}:{kind}{key_id}"

    # Judging a request.

    def judge(self, role: Optional[Role], key: str, action: str, resource: str, context: dict) -> Decision:
        if role is None:
            decision = Decision(False, (), f"no role has the access key {key!r}")
        else:
            try:
                decision = evaluate(role.documents, action, resource, context)
            except Unsupported as e:
                decision = Decision(False, (), f"the policy uses what this model cannot judge: {e}")
        with self.lock:
            self.log.append(Logged(role.name if role else f"?{key}", action, resource, decision.allowed,
                                   decision.statements, decision.reason))
        return decision

    def refusal(self, role: Optional[Role], action: str, resource: str, decision: Decision) -> tuple[int, dict, bytes]:
        who = f"arn:aws:sts::{self.account}:assumed-role/{role.name if role else 'unknown'}/iam-proxy"
        because = ("with an explicit deny in an identity-based policy" if decision.reason == "explicit deny"
                   else f"because no identity-based policy allows the {action} action")
        message = f"User: {who} is not authorized to perform: {action} on resource: {resource} {because}"
        if decision.reason.startswith("the policy uses") or decision.reason.startswith("no role"):
            message += f" ({decision.reason})"
        body = json.dumps({"__type": "AccessDeniedException", "Message": message}).encode()
        return 400, {"Content-Type": "application/x-amz-json-1.1", "x-amzn-errortype": "AccessDeniedException"}, body

    def handle(self, path: str, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, str], bytes]:
        key = access_key(headers)
        role = self.roles.get(key)
        target = next((v for k, v in headers.items() if k.lower() == "x-amz-target"), "")
        prefix, _, operation = target.rpartition(".")
        service = {"secretsmanager": "secretsmanager", "TrentService": "kms"}.get(prefix)
        try:
            payload = json.loads(body or b"{}")
        except ValueError:
            payload = None
        if service is None or not operation or not isinstance(payload, dict):
            action = f"{prefix or '?'}:{operation or '?'}"
            return self.refusal(role, action, "*", self.judge(None, f"{key} (unmodelled request {target!r})",
                                                              action, "*", {}))
        checks = (self.secrets_manager_checks(operation, payload) if service == "secretsmanager"
                  else self.kms_checks(operation, payload))
        for action, resource, context in checks:
            decision = self.judge(role, key, action, resource, context)
            if not decision.allowed:
                return self.refusal(role, action, resource, decision)
        status, answer_headers, data = self.upstream.forward("POST", path, headers, body)
        if service == "secretsmanager" and operation == "BatchGetSecretValue" and status == 200:
            data = self.withhold_unreadable(role, key, data)
        return status, answer_headers, data

    def secrets_manager_checks(self, operation: str, payload: dict) -> list[tuple[str, str, dict]]:
        action = f"secretsmanager:{operation}"
        if operation in ("ListSecrets", "GetRandomPassword"):
            return [(action, "*", {})]
        if operation == "BatchGetSecretValue":
            checks = [(action, "*", {})]
            if payload.get("Filters"):
                checks.append(("secretsmanager:ListSecrets", "*", {}))
            return checks
        tags = {t["Key"]: t["Value"] for t in payload.get("Tags", [])}
        request_tags = {f"aws:RequestTag/{k}": v for k, v in tags.items()}
        if tags:
            request_tags["aws:TagKeys"] = sorted(tags)
        if operation == "CreateSecret":
            name = str(payload.get("Name", ""))
            status, described = self.look_up("secretsmanager", "secretsmanager.DescribeSecret", {"SecretId": name})
            arn = described["ARN"] if status == 200 else self.new_secret_arn(name)
            context = {"secretsmanager:Name": name, "secretsmanager:SecretId": arn, **request_tags}
            checks = [(action, arn, context)]
            if tags:
                checks.append(("secretsmanager:TagResource", arn, context))
            return checks
        arn, resource_tags = self.secret(str(payload.get("SecretId", "")))
        context = {"secretsmanager:SecretId": arn, **request_tags,
                   **{f"aws:ResourceTag/{k}": v for k, v in resource_tags.items()}}
        if operation == "UntagResource" and payload.get("TagKeys"):
            context["aws:TagKeys"] = sorted(payload["TagKeys"])
        return [(action, arn, context)]

    def kms_checks(self, operation: str, payload: dict) -> list[tuple[str, str, dict]]:
        key_id = payload.get("KeyId") or payload.get("DestinationKeyId")
        if not key_id:
            # A symmetric Decrypt may leave the key to the ciphertext; the store always names it.
            return [(f"kms:{operation}", "*", {})]
        encryption = payload.get("EncryptionContext") or {}
        context: dict[str, Any] = {f"kms:EncryptionContext:{k}": v for k, v in encryption.items()}
        if encryption:
            context["kms:EncryptionContextKeys"] = sorted(encryption)
        context["kms:CallerAccount"] = self.account
        return [(f"kms:{operation}", self.key_arn(str(key_id)), context)]

    def withhold_unreadable(self, role: Optional[Role], key: str, data: bytes) -> bytes:
        """A batch read returns only the secrets the caller may `GetSecretValue`; the others are errors."""
        answer = json.loads(data)
        kept = []
        for value in answer.get("SecretValues", []):
            decision = self.judge(role, key, "secretsmanager:GetSecretValue", value["ARN"], {})
            if decision.allowed:
                kept.append(value)
            else:
                answer.setdefault("Errors", []).append({
                    "SecretId": value["ARN"], "ErrorCode": "AccessDeniedException",
                    "Message": f"not authorized to perform: secretsmanager:GetSecretValue on resource: {value['ARN']}"})
        answer["SecretValues"] = kept
        return json.dumps(answer).encode()


def access_key(headers: dict[str, str]) -> str:
    """The access key id a SigV4 request names (its signature is LocalStack's concern, and it has none)."""
    authorization = next((v for k, v in headers.items() if k.lower() == "authorization"), "")
    _, _, credential = authorization.partition("Credential=")
    return credential.split("/", 1)[0]


def main() -> None:
    upstream, policies = sys.argv[1], json.loads(Path(sys.argv[2]).read_text())
    roles = {key: Role(p["role"], p["documents"]) for key, p in policies.items()}
    proxy = IamProxy(upstream, roles)
    print(f"iam-proxy: listening on {proxy.url}", flush=True)
    proxy.server.serve_forever()


if __name__ == "__main__":
    main()
