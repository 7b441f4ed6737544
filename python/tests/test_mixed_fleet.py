"""One store shared by separate processes in both languages, through the strict AWS model
(`localstack/strict-aws`: lagging listings, uneven pages, the version quota), on hosts whose clocks
disagree by seconds (Debian's libfaketime shifts each process's clock): Zoho SDK processes with this
package, and the Rust command-line tool (`refresh-due`, `delete`), all at once.

What must hold, as on AWS: one Zoho refresh for the fleet, one secret for the identity, a delete that
sticks against the SDK's save after its own refresh, nothing past the version quota."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from typing import Iterator

import pytest
from fleet_tools import shifted, strict_aws, strict_stats
from zohocrmsdk.src.com.zoho.api.authenticator.oauth_token import OAuthToken
from zohocrmsdk.src.com.zoho.crm.api.user_signature import UserSignature

REFRESH = "refresh-mixed"
# Each process's clock, in seconds from the machine's: within the store's 5 s clock-skew allowance
# pairwise (the README's "Running a fleet" says what happens past it).
PYTHON_OFFSETS = [-2, 0, 2, 1]
CLI_OFFSETS = [2, -2]


@pytest.fixture
def strict(endpoint: str) -> Iterator[str]:
    """The strict model in front of LocalStack, as a fleet on AWS meets it (the lag scaled to seconds)."""
    with strict_aws(endpoint, "--seed", "7", "--lag", "3", "--tag-lag", "3", "--uneven-pages",
                    "--version-quota", "100", "--version-window", "86400") as url:
        yield url


def test_sdk_processes_and_the_cli_on_skewed_clocks_share_one_store_through_the_strict_model(
        zoho, make_store, prefix, keys, cli, strict, tmp_path):
    store = make_store(endpoint_url=strict)
    zoho.issue_refresh_token(REFRESH, email="mixed@example.com")  # Zoho issued it before the test
    token = OAuthToken(client_id="1000.CLIENT", client_secret="client-secret", refresh_token=REFRESH,
                       access_token="access-old", user_signature=UserSignature("mixed@example.com:7001"),
                       redirect_url="https://app.example.com/callback")
    # 20 s left: inside the 60 s both the SDK processes (their default refresh-ahead) and the CLI refresh ahead.
    token.set_expires_in(str(int(time.time() * 1000) + 20_000))
    store.save_token(token)

    env = dict(os.environ, AWS_ENDPOINT_URL=strict,
               ZOHO_TOKEN_STORE_PREFIX=prefix, ZOHO_TOKEN_STORE_KEYS=keys, ZOHO_ACCOUNTS_URL=zoho.url)
    env.pop("ZOHO_TOKEN_STORE_KEYRING_SECRET", None)
    script = textwrap.dedent(f"""
        import sys, time
        from zohocrmsdk.src.com.zoho.api.authenticator.oauth_token import OAuthToken
        from zohocrmsdk.src.com.zoho.crm.api.dc.data_center import DataCenter
        from zohocrmsdk.src.com.zoho.crm.api.exception.sdk_exception import SDKException
        from zohocrmsdk.src.com.zoho.crm.api.initializer import Initializer
        from zohocrmsdk.src.com.zoho.crm.api.org import OrgOperations
        from zoho_token_store import SecretsManagerTokenStore

        store = SecretsManagerTokenStore(prefix={prefix!r})  # the README's line: keys from the environment
        token = OAuthToken(client_id="1000.CLIENT", client_secret="client-secret", refresh_token={REFRESH!r},
                           redirect_url="https://app.example.com/callback")
        environment = DataCenter.Environment({zoho.url!r}, {zoho.accounts_url!r}, {zoho.url!r})
        print("ready", time.time(), flush=True)
        sys.stdin.readline()
        Initializer.initialize(environment=environment, token=token, store=store, resource_path=sys.argv[1])
        assert OrgOperations().get_organization().get_status_code() == 200
        print("called", token.get_id(), flush=True)
        sys.stdin.readline()
        # The SDK's save after its own refresh, once an operator has deleted the token: refused.
        token.set_access_token("access-after-delete")
        try:
            store.save_token(token)
            print("saved", flush=True)
        except SDKException as e:
            print("refused", e.kind, flush=True)
    """)
    python = [subprocess.Popen([sys.executable, "-c", script, str(tmp_path)], env={**env, **shifted(offset)},
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               cwd=tmp_path)
              for offset in PYTHON_OFFSETS]
    for worker, offset in zip(python, PYTHON_OFFSETS):
        ready, clock = worker.stdout.readline().split()
        assert ready == "ready", worker.stderr.read()
        # faketime really shifted this process's clock (not a silent no-op).
        assert abs(float(clock) - time.time() - offset) < 1.5, (clock, offset)

    # All at once: the SDK processes go, and the CLI refreshes what is due, each on its own clock.
    for worker in python:
        worker.stdin.write("go\n")
        worker.stdin.flush()
    clis = [subprocess.Popen([str(cli), "refresh-due", "--within", "60s"], env={**env, **shifted(offset)},
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for offset in CLI_OFFSETS]
    ids = set()
    for worker in python:
        called, token_id = worker.stdout.readline().split()
        assert called == "called", worker.stderr.read()
        ids.add(token_id)
    for run in clis:
        out, err = run.communicate(timeout=120)
        assert run.returncode == 0, f"{out}\n{err}"

    assert zoho.refreshes == [REFRESH], "one Zoho refresh for the whole mixed fleet"
    assert zoho.stats()["invalid_token"] == 0, "every CRM call carried a live access token"
    # Counted behind the model (its listings lag by design): LocalStack itself, consistent at once.
    direct = make_store()
    [stored] = direct.get_tokens()
    assert ids == {stored.get_id()}, "one secret for the identity, found by every process"
    used = {token for path, token in zoho.crm_calls if path == "/crm/v8/org"}
    assert used == {stored.get_access_token()} and stored.get_access_token() != "access-old"

    # An operator deletes the token with the CLI (its own clock too); every SDK save after it is refused.
    deleted = subprocess.run([str(cli), "delete", stored.get_id()], env={**env, **shifted(-1)},
                             capture_output=True, text=True)
    assert deleted.returncode == 0, deleted.stderr
    for worker in python:
        worker.stdin.write("save\n")
        worker.stdin.flush()
        out, err = worker.communicate(timeout=120)
        assert worker.returncode == 0, err
        assert out.strip() == "refused TokenDeleted", out
    assert direct.get_tokens() == [], "nothing resurrected"

    seen = strict_stats(strict)
    assert seen["quota_refusals"] == 0
    assert seen["lagged_answers"] > 0 and seen["pages"] > 0, "the strict model was in the way"
    token_secret = f"{prefix}{stored.get_id()}"
    # One refresh: the first save and the refresh's; the lease links hold one version each.
    assert seen["versions_written"][token_secret] == 2, seen["versions_written"]
    print("versions written per secret:", seen["versions_written"])
