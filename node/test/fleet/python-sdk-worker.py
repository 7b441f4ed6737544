"""One process of a Zoho Python SDK app on this store (the Python package), for the Node package's mixed
fleet test (fleet-tools.js starts it with a Python that has zoho_token_store and the Zoho SDK): the store
on its defaults, `SecretsManagerTokenStore(prefix=...)` with the keys and the AWS endpoint from the
environment, the SDK configured with a grant or a refresh token, initialized on the first request.

Usage: python python-sdk-worker.py ZOHO_URL PREFIX RESOURCE_DIR grant|refresh VALUE
It prints `ready`, then answers each line of stdin with one line, as node-sdk-worker.mjs does."""

import sys

from zohocrmsdk.src.com.zoho.api.authenticator.oauth_token import OAuthToken
from zohocrmsdk.src.com.zoho.crm.api.dc.data_center import DataCenter
from zohocrmsdk.src.com.zoho.crm.api.initializer import Initializer
from zohocrmsdk.src.com.zoho.crm.api.org import OrgOperations
from zohocrmsdk.src.com.zoho.crm.api.user_signature import UserSignature

from zoho_token_store import SecretsManagerTokenStore

zoho_url, prefix, resources, credential, value = sys.argv[1:6]
store = SecretsManagerTokenStore(prefix=prefix)  # the README's line: every option at its default
token = OAuthToken(client_id="1000.CLIENT", client_secret="client-secret", redirect_url="https://app.example.com/cb",
                   **{f"{credential}_token": value})
environment = DataCenter.Environment(zoho_url, zoho_url + "/oauth/v2/token", zoho_url)
started = False


def serve():
    global started
    if not started:
        Initializer.initialize(environment=environment, token=token, store=store, resource_path=resources)
        started = True
    return str(OrgOperations().get_organization().get_status_code())


def find(user):
    found = store.find_token(OAuthToken(user_signature=UserSignature(user)))
    return f"found {found.get_id()} {found.get_refresh_token()}" if found else "missing"


def save(user, refresh_token, expires_in):
    t = OAuthToken(client_id="1000.CLIENT", client_secret="client-secret", refresh_token=refresh_token,
                   access_token=f"access-of-{refresh_token}", user_signature=UserSignature(user))
    t.set_expires_in(expires_in)
    store.save_token(t)
    return f"saved {t.get_id()}"


def resave():
    token.set_access_token("access-after-delete-python")
    store.save_token(token)
    return f"saved {token.get_id()}"


def token_id():
    return f"id {token.get_id()}"


COMMANDS = {"serve": serve, "find": find, "save": save, "resave": resave, "id": token_id}

print("ready", flush=True)
for line in sys.stdin:
    name, *args = line.split()
    try:
        answer = COMMANDS[name](*args)
    except Exception as error:  # noqa: BLE001 - every failure is the answer, by kind
        kind = getattr(error, "kind", None) or getattr(error, "code", None) or type(error).__name__
        answer = f"error {kind} {str(error).splitlines()[0] if str(error) else ''}"
    print(answer, flush=True)
