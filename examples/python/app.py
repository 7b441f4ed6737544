"""The whole flow of a Python app that uses zoho-token-store with the Zoho CRM SDK, against LocalStack
and a mock Zoho as strict as Zoho (the repository's zoho-mock/: a grant works once, within 3 minutes; every
CRM call needs a live access token), so you can see it before you touch Zoho. Run it with `examples/python/run`.

1. make a keyring with the package's command (`zoho-token-store keygen`), unless ZOHO_TOKEN_STORE_KEYS
   holds one;
2. sign in: the SDK exchanges a grant token, asks Zoho who the user is, and the store saves the token
   encrypted in Secrets Manager;
3. one CRM call with the stored token;
4. a second instance (a new store and SDK initialization, as another process would make) with the same grant finds the saved token instead
   of exchanging the grant again (Zoho accepts a grant once);
5. what is in Secrets Manager: secret names, and no token in them.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import boto3
from zohocrmsdk.src.com.zoho.api.authenticator.oauth_token import OAuthToken
from zohocrmsdk.src.com.zoho.crm.api.dc.data_center import DataCenter
from zohocrmsdk.src.com.zoho.crm.api.initializer import Initializer
from zohocrmsdk.src.com.zoho.crm.api.org import OrgOperations

from zoho_token_store import SecretsManagerTokenStore

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "zoho-mock"))
from strict_zoho import StrictZoho  # noqa: E402 - the repository's mock Zoho, not a package

GRANT = "1000.grant-from-the-api-console"

ENDPOINT = os.environ.setdefault("AWS_ENDPOINT_URL", "http://127.0.0.1:4566")  # LocalStack, for the store too
os.environ.setdefault("AWS_REGION", "us-east-1")
os.environ.setdefault("AWS_DEFAULT_REGION", os.environ["AWS_REGION"])
os.environ.setdefault("AWS_ACCESS_KEY_ID", "test")  # LocalStack takes any credentials
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "test")
PREFIX = f"example/{os.getpid()}/"  # a run of its own: nothing from an earlier run is found


def sign_in(zoho: StrictZoho, resource_path: str) -> SecretsManagerTokenStore:
    """What an app does at start: a store, and the SDK initialized with it."""
    store = SecretsManagerTokenStore(prefix=PREFIX)  # the README's line: the defaults are the fleet's
    token = OAuthToken(client_id="1000.EXAMPLE", client_secret="example-secret",
                       grant_token=GRANT, redirect_url="https://app.example.com/callback")
    Initializer.initialize(environment=DataCenter.Environment(zoho.url, zoho.accounts_url, zoho.url), token=token,
                           store=store, resource_path=resource_path)
    return store


def main() -> None:
    if "ZOHO_TOKEN_STORE_KEYS" in os.environ:
        print("1. keyring: ZOHO_TOKEN_STORE_KEYS, as given")
    else:
        print("1. keyring: zoho-token-store keygen (keep it in your secret manager; here, an environment variable)")
        os.environ["ZOHO_TOKEN_STORE_KEYS"] = subprocess.run(
            [sys.executable, "-m", "zoho_token_store", "keygen"], capture_output=True, text=True,
            check=True).stdout.strip()

    zoho = StrictZoho(client_id="1000.EXAMPLE", client_secret="example-secret", email="ada@example.com",
                      company="Analytical Engines Ltd").start()
    zoho.grant(GRANT)  # what the API console hands you: a grant token, good once, for 3 minutes
    resource_path = tempfile.mkdtemp(prefix="zoho-sdk-")  # the SDK writes field metadata here
    store = sign_in(zoho, resource_path)
    [token] = store.get_tokens()
    print(f"2. signed in as {token.get_user_signature().get_name()} (the SDK's user name: email:zgid); "
          f"token id {token.get_id()}, grant exchanges at Zoho: {zoho.stats()['exchanges']}")

    org = OrgOperations().get_organization().get_object().get_org()[0]
    print(f"3. CRM call with the stored token: organization {org.get_company_name()!r}")

    second = sign_in(zoho, resource_path)
    org = OrgOperations().get_organization().get_object().get_org()[0]
    print(f"4. a second instance (a new store and Initializer, as in another process) found the token: grant exchanges still {zoho.stats()['exchanges']}, "
          f"refused grants {zoho.stats()['refused_exchanges']}; its CRM call: {org.get_company_name()!r}; "
          f"its AWS calls: {second.calls()}")

    secrets = boto3.client("secretsmanager", endpoint_url=ENDPOINT).list_secrets(
        Filters=[{"Key": "name", "Values": [PREFIX]}])["SecretList"]
    print(f"5. in Secrets Manager under {PREFIX!r}: {sorted(s['Name'] for s in secrets)}")
    assert all(token.get_refresh_token() not in s["Name"] for s in secrets), "names hold no token"
    store.delete_tokens()
    print("   deleted again (delete_tokens); the example is done")
    seen = zoho.stats()
    if seen["exchanges"] != 1 or seen["refused_exchanges"]:
        sys.exit("the grant should have been exchanged exactly once")
    if seen["invalid_token"]:
        sys.exit(f"{seen['invalid_token']} CRM calls carried an access token Zoho would refuse")


if __name__ == "__main__":
    main()
