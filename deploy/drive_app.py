"""The app's side of deploy/check-localstack's IAM check: the example function and the Python store,
run as the stack's AppRole would run them, every AWS call through the IAM proxy (AWS_ENDPOINT_URL, the
role's access key). Run with the Python that has the package and the Zoho SDK installed; prints one JSON
line of what it found for check-localstack to check; any refusal fails it (exit 1, with the error).

Environment: the example function's, as the template gives it (ZOHO_TOKEN_STORE_PREFIX, the keyring
secret and its KMS key, the Zoho client and grant, the mock Zoho's URLs), AWS_ENDPOINT_URL (the proxy) and
the role's credentials; ZTS_ADMIN_ENDPOINT, LocalStack itself, for the one thing the app does not do: leave
behind the lease of a process that died mid-refresh.

What it runs, in order (each step's AWS calls are what the policy must allow):
1. examples/lambda_handler.py as Lambda loads it (the cold start exchanges the grant once, under the
   store's lease, and saves the token the SDK names by user), then one invocation (a CRM call);
2. the store: every token (ListSecrets, BatchGetSecretValue), one found by its refresh token, by its user;
3. a refresh ahead of expiry that takes over the lease a dead process left (the claim, the swap of the
   lease's AWSCURRENT, the release), at the mock Zoho;
4. delete_token with the default 7-day recovery window, then the user signs in again: the token is
   restored under its id;
5. delete_tokens, and nothing is left.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

from zohocrmsdk.src.com.zoho.api.authenticator.oauth_token import OAuthToken  # noqa: E402
from zohocrmsdk.src.com.zoho.crm.api.user_signature import UserSignature  # noqa: E402

from zoho_token_store import SecretsManagerTokenStore  # noqa: E402


def admin(operation: str, payload: dict) -> dict:
    """One Secrets Manager call to LocalStack itself, as an operator (not through the proxy)."""
    request = urllib.request.Request(
        os.environ["ZTS_ADMIN_ENDPOINT"], data=json.dumps(payload).encode(), method="POST",
        headers={"X-Amz-Target": f"secretsmanager.{operation}", "Content-Type": "application/x-amz-json-1.1",
                 "Authorization": "AWS4-HMAC-SHA256 Credential=test/20240101/us-east-1/secretsmanager/aws4_request, "
                                  "SignedHeaders=host, Signature=0"})
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return json.load(answer)
    except urllib.error.HTTPError as e:
        raise RuntimeError(f"{operation} at LocalStack: {e.code} {e.read().decode(errors='replace')}") from None


def main() -> None:
    found: dict = {}
    prefix = os.environ["ZOHO_TOKEN_STORE_PREFIX"]

    # 1. The example function: its cold start, then one invocation.
    spec = importlib.util.spec_from_file_location("lambda_handler", ROOT / "examples" / "lambda_handler.py")
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    found["invocation"] = example.handler({}, None)

    # 2. The store as an app's own code meets it (no read cache: each step reads Secrets Manager).
    store = SecretsManagerTokenStore(prefix=prefix, cache_ttl_seconds=0)
    tokens = store.get_tokens()
    found["tokens"] = [(t.get_id(), t.get_user_signature().get_name()) for t in tokens]
    [saved] = tokens
    token_id, user = saved.get_id(), saved.get_user_signature().get_name()
    by_refresh = store.find_token(OAuthToken(client_id=os.environ["ZOHO_CLIENT_ID"],
                                             client_secret=os.environ["ZOHO_CLIENT_SECRET"],
                                             refresh_token=saved.get_refresh_token()))
    by_user = store.find_token(OAuthToken(user_signature=UserSignature(user)))
    found["found_by"] = {"refresh_token": by_refresh and by_refresh.get_id(), "user": by_user and by_user.get_id()}

    # 3. A refresh ahead of expiry, taking over the lease a process left when it died mid-refresh.
    admin("CreateSecret", {"Name": f"{prefix}lease/{token_id}", "ClientRequestToken": str(uuid.uuid4()),
                           "SecretString": json.dumps({"holder": "died", "expires_at_ms": 1000, "generation": 0})})
    expiring = store.find_token_by_id(token_id)
    before = expiring.get_access_token()
    # Expired a moment ago: due whatever its lifetime (a token just issued with a second left may not be).
    expiring.set_expires_in(str(int(time.time() * 1000) - 1_000))
    store.save_token(expiring)
    fresh = store.find_token_by_id(token_id)
    found["refreshed"] = {"new_access_token": fresh.get_access_token() not in (None, before),
                          "seconds_left": (int(fresh.get_expires_in()) - time.time() * 1000) / 1000}

    # 4. Deleted with a recovery window, then the user signs in again: restored under its id.
    store.delete_token(token_id)
    again = OAuthToken(client_id=os.environ["ZOHO_CLIENT_ID"], client_secret=os.environ["ZOHO_CLIENT_SECRET"],
                       refresh_token=fresh.get_refresh_token(), user_signature=UserSignature(user))
    store.save_token(again)
    found["restored"] = {"id": again.get_id(), "same_id": again.get_id() == token_id,
                         "found": store.find_token_by_id(token_id).get_refresh_token() == fresh.get_refresh_token()}

    # 5. Everything under the prefix goes.
    store.delete_tokens()
    found["left"] = len(store.get_tokens())
    found["calls"] = store.calls()
    print(json.dumps(found), flush=True)


if __name__ == "__main__":
    try:
        main()
    except Exception as e:  # noqa: BLE001 - the check reports what failed, refusals first
        sys.exit(f"{type(e).__name__}: {e}")
