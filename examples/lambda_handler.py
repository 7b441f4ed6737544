"""An AWS Lambda function (python3.12, x86_64 or arm64) that calls Zoho CRM through the Zoho Python SDK,
its OAuth tokens kept by zoho-token-store in Secrets Manager instead of a file the function cannot write.

Deploy: the layer `python/build-lambda` builds (`dist/lambda/`: the store and the SDK), this file as the
function's code, handler `lambda_handler.handler`. `python/simulate-lambda` runs it here as Lambda would
(read-only filesystem but /tmp, the layer under /opt, Lambda's environment) and measures its cold start.

Environment:
    ZOHO_TOKEN_STORE_KEYRING_SECRET, ZOHO_TOKEN_STORE_KMS_KEY_ID   the keyring secret and the KMS key
                               that wraps it (deploy/template.yaml sets both; `zoho-token-store
                               init-keyring` writes the secret once)
    ZOHO_TOKEN_STORE_KEYS      else the keyring itself (`zoho-token-store keygen`)
    ZOHO_CLIENT_ID, ZOHO_CLIENT_SECRET, ZOHO_REDIRECT_URL   the Zoho API client
    ZOHO_GRANT_TOKEN           the first sign-in's grant: exchanged once for the whole fleet; later cold
                               starts find the saved token by it instead of exchanging it again
    ZOHO_TOKEN_STORE_PREFIX    where the tokens live (default zoho/oauth/)
    ZOHO_API_URL, ZOHO_ACCOUNTS_URL   another Zoho than US production (the simulation's mock Zoho)

The function's role needs the IAM policy in python/README.md ("Lambda and containers"); deploy/template.yaml
deploys all of it (deploy/README.md).
"""

from __future__ import annotations

import json
import os
import time

_began = time.perf_counter()

from zohocrmsdk.src.com.zoho.api.authenticator.oauth_token import OAuthToken  # noqa: E402
from zohocrmsdk.src.com.zoho.crm.api.dc import USDataCenter  # noqa: E402
from zohocrmsdk.src.com.zoho.crm.api.dc.data_center import DataCenter  # noqa: E402
from zohocrmsdk.src.com.zoho.crm.api.initializer import Initializer  # noqa: E402
from zohocrmsdk.src.com.zoho.crm.api.org import OrgOperations  # noqa: E402

from zoho_token_store import SecretsManagerTokenStore  # noqa: E402

_imported = time.perf_counter()

# Once per execution environment (the cold start), outside the handler: the store, shared by every
# invocation this environment serves. Its defaults are what a fleet of functions needs: a 30 s cache makes
# the SDK's reads before each request free, a token about to expire is refreshed once for every function
# and process that uses it, and a fleet of cold starts with one grant exchanges it once.
# The keyring comes from the environment: the keyring secret ZOHO_TOKEN_STORE_KEYRING_SECRET names
# (KMS-wrapped with ZOHO_TOKEN_STORE_KMS_KEY_ID), else ZOHO_TOKEN_STORE_KEYS.
STORE = SecretsManagerTokenStore(prefix=os.environ.get("ZOHO_TOKEN_STORE_PREFIX", "zoho/oauth/"))
_stored = time.perf_counter()

# The SDK writes field metadata under resource_path: on Lambda only /tmp is writable.
RESOURCE_PATH = "/tmp/zoho"
os.makedirs(RESOURCE_PATH, exist_ok=True)

if os.environ.get("ZOHO_API_URL"):
    ENVIRONMENT = DataCenter.Environment(os.environ["ZOHO_API_URL"], os.environ["ZOHO_ACCOUNTS_URL"],
                                         os.environ["ZOHO_API_URL"])
else:
    ENVIRONMENT = USDataCenter.PRODUCTION()

# Finds the saved token (or exchanges the grant, the first time anywhere) and asks Zoho who the user is.
Initializer.initialize(
    environment=ENVIRONMENT,
    token=OAuthToken(
        client_id=os.environ["ZOHO_CLIENT_ID"],
        client_secret=os.environ["ZOHO_CLIENT_SECRET"],
        grant_token=os.environ["ZOHO_GRANT_TOKEN"],
        redirect_url=os.environ["ZOHO_REDIRECT_URL"],
    ),
    store=STORE,
    resource_path=RESOURCE_PATH,
)
_initialized = time.perf_counter()

# One line for the logs (CloudWatch): what the cold start cost, in milliseconds.
print(json.dumps({"cold_start_ms": {
    "import": round((_imported - _began) * 1000, 1),
    "store": round((_stored - _imported) * 1000, 1),
    "initialize": round((_initialized - _stored) * 1000, 1),
}}), flush=True)


def handler(event: dict, context: object) -> dict:
    """One CRM call with the stored token: the organization's name."""
    response = OrgOperations().get_organization()
    if response.get_status_code() != 200:
        return {"statusCode": response.get_status_code()}
    org = response.get_object().get_org()[0]
    return {"statusCode": 200, "company": org.get_company_name()}
