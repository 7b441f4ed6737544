"""What reaches Python `logging`: the store's own events (under `zoho_token_store.*`), not the AWS SDK's
hundreds of lines per call, unless `ZOHO_TOKEN_STORE_AWS_LOGS=1` asks for them. And an AWS failure is one
line that names the fix, also when the endpoint is not AWS at all."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest
from zohocrmsdk.src.com.zoho.crm.api.exception.sdk_exception import SDKException

SCRIPT = textwrap.dedent("""
    import logging, sys
    names = set()

    class Collect(logging.Handler):
        def emit(self, record):
            names.add(record.name)

    logging.basicConfig(level=logging.DEBUG, handlers=[Collect()])
    from zohocrmsdk.src.com.zoho.api.authenticator.oauth_token import OAuthToken
    from zohocrmsdk.src.com.zoho.crm.api.user_signature import UserSignature
    from zoho_token_store import SecretsManagerTokenStore

    store = SecretsManagerTokenStore(prefix=sys.argv[1], keys=sys.argv[2], recovery_window_days=0)
    token = OAuthToken(client_id="1000.C", client_secret="s", refresh_token="r", access_token="a",
                       user_signature=UserSignature("log@example.com"))
    store.save_token(token)
    store.find_token_by_id(token.get_id())
    print("\\n".join(sorted(names)))
""")


def logger_names(prefix: str, keys: str, cwd: str, **env: str) -> list:
    # (Run away from python/, whose source tree would shadow the installed package.)
    done = subprocess.run([sys.executable, "-c", SCRIPT, prefix, keys], env=dict(os.environ, **env),
                          capture_output=True, text=True, cwd=cwd)
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


def test_only_the_stores_own_events_reach_python_logging_unless_the_aws_sdks_are_asked_for(endpoint, prefix, keys,
                                                                                          tmp_path):
    names = logger_names(prefix, keys, str(tmp_path))
    assert any(n.startswith("zoho_token_store.") for n in names), names
    assert all(n.startswith("zoho_token_store.") or n in ("SDKLogger", "root") for n in names), names

    asked = logger_names(prefix, keys, str(tmp_path), ZOHO_TOKEN_STORE_AWS_LOGS="1")
    assert any(n.startswith("aws_") for n in asked), asked


def test_an_endpoint_that_is_not_aws_is_named_in_one_line(make_store, zoho):
    store = make_store(endpoint_url=zoho.url)  # answers HTTP, but is not AWS
    with pytest.raises(SDKException) as raised:
        store.find_token_by_id("t1")
    message = str(raised.value)
    assert "is not AWS Secrets Manager" in message and "endpoint_url" in message, message
    assert "\n" not in message
