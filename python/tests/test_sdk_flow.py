"""The SDK's own token flow, end to end, with this store and local mocks of Zoho's accounts and CRM
servers: first sign-in with a grant token, the current-user lookup the SDK makes, a CRM call, expiry,
refresh, and a second process that finds the saved token instead of exchanging the grant again."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time

from zohocrmsdk.src.com.zoho.api.authenticator.oauth_token import OAuthToken
from zohocrmsdk.src.com.zoho.crm.api.dc.data_center import DataCenter
from zohocrmsdk.src.com.zoho.crm.api.initializer import Initializer
from zohocrmsdk.src.com.zoho.crm.api.org import OrgOperations

USER = "alice@example.com:7001"


def crm_call() -> int:
    return OrgOperations().get_organization().get_status_code()


def test_sign_in_crm_call_expiry_refresh_and_a_second_process(zoho, make_store, keys, prefix, tmp_path):
    store = make_store()
    zoho.grant("code-1")  # the user's consent: Zoho accepts it once, within 3 minutes
    environment = DataCenter.Environment(zoho.url, zoho.accounts_url, zoho.url)
    token = OAuthToken(client_id="1000.CLIENT", client_secret="client-secret", grant_token="code-1",
                       redirect_url="https://app.example.com/callback")

    # First sign-in: the grant is exchanged once, the SDK asks who the user is, the token is saved.
    Initializer.initialize(environment=environment, token=token, store=store, resource_path=str(tmp_path))
    assert zoho.exchanges == ["code-1"]
    assert [path for path, _ in zoho.crm_calls] == ["/crm/v8/users", "/crm/v8/org"], "the current-user lookup"
    [saved] = store.get_tokens()
    assert saved.get_user_signature().get_name() == USER
    assert saved.get_refresh_token() == "refresh-for-code-1"
    assert saved.get_id() == token.get_id(), "save_token set the id on the SDK's own token"

    # A CRM call carries the stored access token.
    assert crm_call() == 200
    assert zoho.crm_calls[-1] == ("/crm/v8/org", saved.get_access_token())
    assert zoho.refreshes == []

    # Time passes: the stored access token expires. The next call refreshes once and saves.
    expired = store.find_token_by_id(saved.get_id())
    expired.set_expires_in(str(int(time.time() * 1000) - 1_000))
    store.save_token(expired)
    assert crm_call() == 200
    assert zoho.refreshes == ["refresh-for-code-1"]
    fresh = store.find_token_by_id(saved.get_id())
    assert fresh.get_access_token() not in (None, saved.get_access_token())
    assert int(fresh.get_expires_in()) > time.time() * 1000 + 3_000_000
    assert zoho.crm_calls[-1] == ("/crm/v8/org", fresh.get_access_token())
    assert crm_call() == 200 and zoho.refreshes == ["refresh-for-code-1"], "fresh: no second refresh"

    # A second process, started as the first was (same grant token), finds the saved token: no second
    # exchange (the mock refuses a spent code, which would fail initialize), no refresh.
    script = textwrap.dedent(f"""
        from zohocrmsdk.src.com.zoho.api.authenticator.oauth_token import OAuthToken
        from zohocrmsdk.src.com.zoho.crm.api.dc.data_center import DataCenter
        from zohocrmsdk.src.com.zoho.crm.api.initializer import Initializer
        from zohocrmsdk.src.com.zoho.crm.api.org import OrgOperations
        from zoho_token_store import SecretsManagerTokenStore

        store = SecretsManagerTokenStore(prefix={prefix!r}, keys={keys!r})
        token = OAuthToken(client_id="1000.CLIENT", client_secret="client-secret", grant_token="code-1",
                           redirect_url="https://app.example.com/callback")
        environment = DataCenter.Environment({zoho.url!r}, {zoho.accounts_url!r}, {zoho.url!r})
        Initializer.initialize(environment=environment, token=token, store=store, resource_path={str(tmp_path)!r})
        assert OrgOperations().get_organization().get_status_code() == 200
        print("second process id", token.get_id())
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=dict(os.environ),
                          cwd=tmp_path)  # not the source tree, which would shadow the installed package
    assert done.returncode == 0, done.stderr
    assert f"second process id {saved.get_id()}" in done.stdout
    assert zoho.exchanges == ["code-1"], "the grant was exchanged once in all"
    assert zoho.refreshes == ["refresh-for-code-1"]
    assert zoho.crm_calls[-1] == ("/crm/v8/org", fresh.get_access_token())
    assert len(store.get_tokens()) == 1, "one token for the user, in both processes"
    stats = zoho.stats()
    assert (stats["refused_exchanges"], stats["invalid_token"], stats["access_denied"]) == (0, 0, 0), stats
