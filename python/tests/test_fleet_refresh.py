"""A fleet of SDK processes meeting an expiring token: with refreshing ahead (the default) the token is
refreshed once for all of them; with `refresh_ahead_seconds=0`, every process that finds it expiring
refreshes it (the SDK's own flow), which this test shows too, so the difference is not luck.
`test_fleet_defaults.py` runs the same fleets with no option given at all."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time

from zohocrmsdk.src.com.zoho.api.authenticator.oauth_token import OAuthToken
from zohocrmsdk.src.com.zoho.crm.api.user_signature import UserSignature

PROCESSES = 6
REFRESH = "refresh-fleet"


def stored_token(zoho, store, expires_in_ms: int) -> OAuthToken:
    zoho.issue_refresh_token(REFRESH, email="fleet@example.com")  # Zoho issued it before the test
    token = OAuthToken(client_id="1000.CLIENT", client_secret="client-secret", refresh_token=REFRESH,
                       access_token="access-old", user_signature=UserSignature("fleet@example.com:7001"),
                       redirect_url="https://app.example.com/callback")
    token.set_expires_in(str(int(time.time() * 1000) + expires_in_ms))
    store.save_token(token)
    return token


def run_fleet(zoho, prefix: str, keys: str, refresh_ahead, tmp_path, credential: str = f"refresh_token={REFRESH!r}",
              must_succeed: bool = True) -> None:
    """Starts the processes, lets them all go at once, and waits for each to make one CRM call."""
    script = textwrap.dedent(f"""
        import sys
        from zohocrmsdk.src.com.zoho.api.authenticator.oauth_token import OAuthToken
        from zohocrmsdk.src.com.zoho.crm.api.dc.data_center import DataCenter
        from zohocrmsdk.src.com.zoho.crm.api.initializer import Initializer
        from zohocrmsdk.src.com.zoho.crm.api.org import OrgOperations
        from zoho_token_store import SecretsManagerTokenStore

        store = SecretsManagerTokenStore(prefix={prefix!r}, keys={keys!r}, refresh_ahead_seconds={refresh_ahead!r})
        # As a worker starts: client credentials and a refresh (or grant) token from its configuration.
        token = OAuthToken(client_id="1000.CLIENT", client_secret="client-secret", {credential},
                           redirect_url="https://app.example.com/callback")
        environment = DataCenter.Environment({zoho.url!r}, {zoho.accounts_url!r}, {zoho.url!r})
        print("ready", flush=True)
        sys.stdin.readline()
        Initializer.initialize(environment=environment, token=token, store=store, resource_path={str(tmp_path)!r})
        assert OrgOperations().get_organization().get_status_code() == 200
    """)
    workers = [subprocess.Popen([sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, env=dict(os.environ), cwd=tmp_path)
               for _ in range(PROCESSES)]
    for worker in workers:
        assert worker.stdout.readline().strip() == "ready", worker.stderr.read()
    for worker in workers:
        worker.stdin.write("go\n")
        worker.stdin.flush()
    for worker in workers:
        _, err = worker.communicate()
        assert worker.returncode == 0 or not must_succeed, err


def test_with_refresh_ahead_a_fleet_refreshes_an_expiring_token_once(zoho, make_store, prefix, keys, tmp_path):
    store = make_store()
    # 20 s left: more than the SDK's 5 s (it would not refresh), less than the 60 s asked for.
    saved = stored_token(zoho, store, 20_000)
    run_fleet(zoho, prefix, keys, 60, tmp_path)

    assert zoho.refreshes == [REFRESH], "one refresh for the whole fleet"
    fresh = store.find_token_by_id(saved.get_id())
    assert fresh.get_access_token() not in (None, "access-old")
    assert int(fresh.get_expires_in()) > time.time() * 1000 + 3_000_000
    used = [token for path, token in zoho.crm_calls if path == "/crm/v8/org"]
    assert used == [fresh.get_access_token()] * PROCESSES, "every process used the one fresh token"
    assert zoho.stats()["invalid_token"] == 0, "Zoho took every CRM call's token"
    assert len(store.get_tokens()) == 1


def test_without_it_every_process_that_finds_the_token_expiring_refreshes(zoho, make_store, prefix, keys,
                                                                         tmp_path):
    store = make_store()
    stored_token(zoho, store, -1_000)  # expired: the SDK refreshes in every process that finds it so
    zoho.hold_refreshes_until = PROCESSES  # no process gets its answer before all have asked
    run_fleet(zoho, prefix, keys, 0, tmp_path)
    assert zoho.refreshes == [REFRESH] * PROCESSES


def test_with_refresh_ahead_processes_started_together_with_one_grant_exchange_it_once(zoho, make_store, prefix,
                                                                                    keys, tmp_path):
    """The README's setup: every process is configured with the same grant token and nothing is stored yet."""
    zoho.grant("1000.grant-fleet")
    run_fleet(zoho, prefix, keys, 60, tmp_path, credential='grant_token="1000.grant-fleet"')

    assert zoho.exchanges == ["1000.grant-fleet"], "one exchange for the whole fleet"
    assert zoho.stats()["refused_exchanges"] == 0
    [stored] = make_store().get_tokens()
    assert stored.get_user_signature().get_name() == "alice@example.com:7001", "named as the SDK names users"
    used = [token for path, token in zoho.crm_calls if path == "/crm/v8/org" and token == stored.get_access_token()]
    assert len(used) >= PROCESSES, "every process made its CRM call with the one exchanged token"


def test_without_it_every_process_started_with_the_grant_exchanges_it(zoho, make_store, prefix, keys, tmp_path):
    zoho.grant("1000.grant-alone")
    zoho.hold_exchanges_until = PROCESSES  # no process gets its answer (nor saves) before all have asked
    run_fleet(zoho, prefix, keys, 0, tmp_path, credential='grant_token="1000.grant-alone"', must_succeed=False)
    assert zoho.exchanges == ["1000.grant-alone"] * PROCESSES, "Zoho accepts one; the others got invalid_code"
    assert (zoho.stats()["exchanges"], zoho.stats()["refused_exchanges"]) == (1, PROCESSES - 1)


def test_a_failed_refresh_ahead_hands_over_the_stored_token_and_the_sdk_goes_on(make_store, zoho, caplog):
    """Zoho refusing the refresh (here: unreachable) is no store error; the token comes back as stored,
    and Python's logging says why."""
    from zohocrmsdk.src.com.zoho.crm.api.dc.data_center import DataCenter
    from zohocrmsdk.src.com.zoho.crm.api.initializer import Initializer

    store = make_store(refresh_ahead_seconds=60)
    saved = stored_token(zoho, store, 20_000)
    # An environment whose accounts server does not answer; initialize only to set it.
    environment = DataCenter.Environment(zoho.url, "http://127.0.0.1:9/oauth/v2/token", zoho.url)
    Initializer.initialize(environment=environment, token=OAuthToken(access_token="x", find_user=False),
                           store=make_store())
    found = store.find_token_by_id(saved.get_id())
    assert found.get_access_token() == "access-old"
    assert zoho.refreshes == []
    [warning] = [r for r in caplog.records if r.name == "zoho_token_store.refresh"]
    assert warning.levelname == "WARNING" and "refreshing ahead failed" in warning.getMessage()
    assert "cannot reach Zoho" in warning.getMessage(), warning.getMessage()
    for record in caplog.records:
        for secret in ("access-old", "client-secret", REFRESH):
            assert secret not in record.getMessage()
