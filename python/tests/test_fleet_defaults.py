"""A fleet on the README's line and nothing else: `SecretsManagerTokenStore(prefix=...)` (keys from
`ZOHO_TOKEN_STORE_KEYS`), twelve Zoho SDK processes, through the strict AWS model and the strict Zoho mock.
Started together with one grant they exchange it once; at an expiry they refresh once; a token that lives
seconds (a time-scaled Zoho) is refreshed within a fraction of its life, not once per process.

`test_fleet_refresh.py` has the controls: the same fleets with `refresh_ahead_seconds=0` exchange the grant
in every process and refresh in every process."""

from __future__ import annotations

import os
import select
import subprocess
import sys
import textwrap
import time
from typing import Iterator, List

import pytest
from fleet_tools import strict_aws, strict_stats
from zoho_mock import ZohoMock
from zohocrmsdk.src.com.zoho.api.authenticator.oauth_token import OAuthToken
from zohocrmsdk.src.com.zoho.crm.api.user_signature import UserSignature

PROCESSES = 12
GRANT = "1000.grant-defaults"
REFRESH = "refresh-defaults"
# Zoho's hour is 16 s in the refresh test: far under the default 60 s margin, which would make every
# fresh token due on arrival (a refresh per process, then Zoho's Access Denied past 10 per window).
LIFETIME_S = 16
# The margin the fleet refreshes such a token at: a quarter of its life, but at least the package's 6 s
# (src/manager/margin.rs, python/src/refresh.rs); every process on the machine's clock. A refresh while the
# token before it had more left is a second refresh of one expiry, however the processes were scheduled.
FRESH_LEFT_S = 6

WORKER = textwrap.dedent("""
    import sys
    from zohocrmsdk.src.com.zoho.api.authenticator.oauth_token import OAuthToken
    from zohocrmsdk.src.com.zoho.crm.api.dc.data_center import DataCenter
    from zohocrmsdk.src.com.zoho.crm.api.initializer import Initializer
    from zohocrmsdk.src.com.zoho.crm.api.org import OrgOperations
    from zoho_token_store import SecretsManagerTokenStore

    zoho_url, prefix, resources, credential, value = sys.argv[1:6]
    store = SecretsManagerTokenStore(prefix=prefix)  # the README's line: every option at its default
    token = OAuthToken(client_id="1000.CLIENT", client_secret="client-secret", redirect_url="https://app.example.com/cb",
                       **{credential: value})
    environment = DataCenter.Environment(zoho_url, zoho_url + "/oauth/v2/token", zoho_url)
    started = False
    print("ready", flush=True)
    for line in sys.stdin:  # each line: a request the app serves, one CRM call
        if not started:
            Initializer.initialize(environment=environment, token=token, store=store, resource_path=resources)
            started = True
        print(OrgOperations().get_organization().get_status_code(), flush=True)
""")


class Fleet:
    """PROCESSES long-lived SDK processes, configured with `credential=value` (a grant or refresh token)."""

    def __init__(self, zoho: ZohoMock, aws: str, prefix: str, keys: str, resources: str, credential: str,
                 value: str) -> None:
        env = dict(os.environ, AWS_ENDPOINT_URL=aws, ZOHO_TOKEN_STORE_KEYS=keys)
        self.workers: List[subprocess.Popen] = [
            subprocess.Popen([sys.executable, "-c", WORKER, zoho.url, prefix, resources, credential, value],
                             env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True, cwd=resources)
            for _ in range(PROCESSES)]
        for worker in self.workers:
            assert self.readline(worker) == "ready"

    def readline(self, worker: subprocess.Popen) -> str:
        # A worker that stops answering fails the test with what it said, instead of hanging it.
        if not select.select([worker.stdout], [], [], 120)[0]:
            worker.kill()
            pytest.fail(f"a worker was silent for 120 s: {worker.stderr.read()}")
        line = worker.stdout.readline().strip()
        assert line, f"a worker ended: {worker.stderr.read()}"
        return line

    def serve(self) -> List[str]:
        """Every process serves one request at once; their CRM calls' statuses."""
        for worker in self.workers:
            worker.stdin.write("request\n")
            worker.stdin.flush()
        return [self.readline(worker) for worker in self.workers]

    def stop(self) -> None:
        for worker in self.workers:
            worker.kill()
            worker.wait()


@pytest.fixture
def strict(endpoint: str) -> Iterator[str]:
    """The strict model in front of LocalStack: exclusive creates (the lease), lagging listings."""
    with strict_aws(endpoint, "--lag", "2", "--tag-lag", "2") as url:
        yield url


def no_refusals(zoho: ZohoMock) -> None:
    seen = zoho.stats()
    assert (seen["refused_exchanges"], seen["refused_refreshes"], seen["access_denied"], seen["evicted"],
            seen["invalid_token"]) == (0, 0, 0, 0, 0), seen


def test_a_fleet_on_defaults_started_with_one_grant_exchanges_it_once(zoho, strict, prefix, keys, make_store,
                                                                      tmp_path):
    fleet = Fleet(zoho, strict, prefix, keys, str(tmp_path), "grant_token", GRANT)
    try:
        zoho.grant(GRANT)  # the user's consent, as the fleet starts
        assert fleet.serve() == ["200"] * PROCESSES
        assert fleet.serve() == ["200"] * PROCESSES
    finally:
        fleet.stop()
    assert zoho.exchanges == [GRANT], "one exchange for the fleet"
    assert zoho.refreshes == []
    no_refusals(zoho)
    [stored] = make_store().get_tokens()
    assert stored.get_refresh_token() is not None
    used = {token for path, token in zoho.crm_calls if path == "/crm/v8/org"}
    assert used == {stored.get_access_token()}, "every process used the one exchanged token"


@pytest.fixture
def short_zoho() -> Iterator[ZohoMock]:
    """The strict Zoho mock with its hour scaled to LIFETIME_S seconds."""
    with ZohoMock(scale=3600 / LIFETIME_S) as mock:
        yield mock


def test_a_fleet_on_defaults_refreshes_once_per_expiry_a_token_living_seconds(short_zoho, strict, prefix, keys,
                                                                             make_store, tmp_path):
    zoho = short_zoho
    assert zoho.lifetime == LIFETIME_S
    zoho.issue_refresh_token(REFRESH, email="fleet@example.com")  # Zoho issued it before the test
    store = make_store(endpoint_url=strict)  # through the model, which counts the versions it writes
    token = OAuthToken(client_id="1000.CLIENT", client_secret="client-secret", refresh_token=REFRESH,
                       access_token="access-old", user_signature=UserSignature("fleet@example.com:7001"),
                       redirect_url="https://app.example.com/cb")
    token.set_expires_in(str(int(time.time() * 1000) - 1_000))  # expired: every process meets the expiry
    store.save_token(token)

    fleet = Fleet(zoho, strict, prefix, keys, str(tmp_path), "refresh_token", REFRESH)
    try:
        assert fleet.serve() == ["200"] * PROCESSES
        assert zoho.refreshes, "the expiry was refreshed"
        # The fresh token lives 16 s, under the 60 s margin: refreshed within a quarter of its life, so
        # not again while it has more left, in any process (the others never refreshed it and know its
        # lifetime from it). Twelve processes serving three more requests each may take longer than
        # that on a loaded machine: then it comes due, and one refresh of that expiry is right.
        for _ in range(3):
            assert fleet.serve() == ["200"] * PROCESSES
        served = len(zoho.refreshes)

        # The next expiry: refreshed again.
        expires = int(store.find_token_by_id(token.get_id()).get_expires_in()) / 1000
        time.sleep(max(0.0, expires + 0.2 - time.time()))
        assert fleet.serve() == ["200"] * PROCESSES
        assert len(zoho.refreshes) > served, "the next expiry was refreshed"
    finally:
        fleet.stop()
    no_refusals(zoho)
    # One refresh per expiry, not one per process: none while the token before it was fresh.
    left = [round(r["replaced_left_real"] or 0, 1) for r in zoho.issued]
    print(f"\n{len(zoho.refreshes)} refreshes; life left (s) on the token each replaced: {left}")
    early = zoho.early_refreshes(REFRESH, FRESH_LEFT_S)
    assert early == [], f"refreshed with more than {FRESH_LEFT_S} s left: {early}"
    # AWS's side of it: each refresh wrote at most two versions (the token's secret and its lease).
    written = strict_stats(strict)["versions_written"]
    token_secret = prefix + token.get_id()
    leases = sum(n for name, n in written.items() if name.startswith(prefix + "lease/"))
    print("\nversions written:", written[token_secret], "token,", leases, "lease")
    assert written[token_secret] - 1 + leases <= 2 * len(zoho.refreshes), written
