"""A simulated day of a mixed fleet on AWS as it is: 24 hourly expiries (an "hour" is a few seconds here),
6 long-lived Zoho SDK processes and the Rust CLI run as a cron job would run it (2 processes every hour),
all through the strict AWS model (lagging listings, uneven pages, the version quota over the whole day),
on clocks that disagree by a second, with what happens in such a day:

- a new user signs in on every SDK process at once (one grant, one exchange);
- a data-key rotation deployed in two steps (the SDK processes restarted with each keyring), the tokens
  re-encrypted with the CLI, and the old key retired (once the deleted token that might still need it is
  deleted for good) and dropped;
- an operator deletes a token with the CLI, and the SDK processes' saves after their own refresh do not
  bring it back;
- a lease holder killed in the middle of its refresh.

It ends with: one secret per identity, one grant exchange per sign-in, at most one Zoho refresh per expiry
(plus the killed holder's), nothing resurrected, every token readable with the final keyring, no quota
error, and the versions each secret was written reported.

"One refresh per expiry" is counted from what Zoho issued, not from the hours: an hour's work (restarting
six processes, twelve lookups, two cron runs) takes longer than a token stays fresh on a loaded machine,
and a token that came due again within the hour is rightly refreshed again. What the design rules out is
a refresh while the token Zoho issued before still had more than the margin (plus the clocks' spread) to
live: two processes refreshing one fresh token. The mock records each token it mints with the life left
on the one it replaced (`zoho.early_refreshes`)."""

from __future__ import annotations

import base64
import os
import secrets
import select
import signal
import subprocess
import sys
import textwrap
import time
from typing import Dict, Iterator, List

import pytest
from fleet_tools import shifted, strict_aws, strict_stats
from zoho_mock import ZohoMock
from zohocrmsdk.src.com.zoho.api.authenticator.oauth_token import OAuthToken
from zohocrmsdk.src.com.zoho.crm.api.user_signature import UserSignature

HOURS = 24
# Zoho's hour is 16 s here: the strict mock's clock runs 225 times faster (a grant is valid 0.8 s, the refresh
# window is 2.7 s; the sign-in pauses it). An access token lives 16 s; the store refreshes it 6 s before expiry
# (the package's least margin for a short token; the SDK itself refreshes 5 s before): fresh for 10 s, far
# longer than a process takes to start, scan and meet the lease on the most skewed clock of a loaded machine
# (a second refresh inside it would be a real one, not a timing artefact). The second between the two
# margins is what a loaded machine needs between the store handing a token over and the SDK looking at it:
# with 0.2 s, the SDK now and then found the token under its own 5 s and refreshed by itself.
LIFETIME_S = 16
AHEAD_S = 6
# Each SDK process's clock, from the machine's (the two CLI runs of every hour at +1 and -1): 8 processes.
OFFSETS = [-1, 0, 1, 0.5, -0.5, 0]
CRON_OFFSETS = [1, -1]
# How much life a token may have left when it is refreshed: a process refreshes when its own clock says
# less than AHEAD_S is left, and the clock that computed the expiry (the refresher's) may run 2 s ahead of
# it. A refresh with more left than that replaced a token the fleet still had fresh: a second refresh of
# one expiry.
SPREAD_S = max(OFFSETS + CRON_OFFSETS) - min(OFFSETS + CRON_OFFSETS)
FRESH_LEFT_S = AHEAD_S + SPREAD_S
CLIENT = dict(client_id="1000.CLIENT", client_secret="client-secret", redirect_url="https://app.example.com/cb")
REFRESH_A = "refresh-soak-a"
GRANT_B = "1000.grant-soak-b"
SIGN_IN_HOUR, STEP1_HOUR, STEP2_HOUR, REENCRYPT_HOUR, DELETE_HOUR, RETIRE_HOUR, CRASH_HOUR = 3, 5, 7, 8, 10, 11, 14

WORKER = textwrap.dedent(f"""
    import sys
    from zohocrmsdk.src.com.zoho.api.authenticator.oauth_token import OAuthToken
    from zohocrmsdk.src.com.zoho.crm.api.dc.data_center import DataCenter
    from zohocrmsdk.src.com.zoho.crm.api.exception.sdk_exception import SDKException
    from zohocrmsdk.src.com.zoho.crm.api.initializer import Initializer
    from zohocrmsdk.src.com.zoho.crm.api.org import OrgOperations
    from zoho_token_store import SecretsManagerTokenStore

    zoho_url, prefix, resources = sys.argv[1:4]
    client = {CLIENT!r}
    store = SecretsManagerTokenStore(prefix=prefix, refresh_ahead_seconds={AHEAD_S})  # keys: the environment
    token = OAuthToken(refresh_token={REFRESH_A!r}, **client)
    Initializer.initialize(environment=DataCenter.Environment(zoho_url, zoho_url + "/oauth/v2/token", zoho_url),
                           token=token, store=store, resource_path=resources)
    signed_in = None
    print("ready", flush=True)
    for line in sys.stdin:
        command = line.split()
        try:
            if command[0] == "tick":  # a request the app serves: one CRM call
                assert OrgOperations().get_organization().get_status_code() == 200
                print("served", flush=True)
            elif command[0] == "signin":  # a user signs in: the SDK's flow for a new grant
                signed_in = OAuthToken(grant_token=command[1], **client)
                signed_in.generate_token()
                print("signed-in", signed_in.get_id(), flush=True)
            elif command[0] == "save-signed-in":  # the SDK's save after its own refresh
                signed_in.set_access_token("access-from-own-refresh")
                store.save_token(signed_in)
                print("saved", flush=True)
        except SDKException as e:
            print("refused", getattr(e, "kind", e.code), flush=True)
""")


def keyring(*ids: str, keys: Dict[str, str]) -> str:
    """The keyring text with these data keys, the first written with."""
    return ",".join([f"index={keys['index']}"] + [f"{k}={keys[k]}" for k in ids])


class Worker:
    """One long-lived SDK process (a gunicorn worker, a warm Lambda)."""

    def __init__(self, offset: float, env: dict, zoho_url: str, prefix: str, resources: str) -> None:
        self.offset = offset
        self.proc = subprocess.Popen([sys.executable, "-c", WORKER, zoho_url, prefix, resources],
                                     env={**env, **shifted(offset)}, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True, cwd=resources)
        assert self.readline() == "ready"

    def readline(self) -> str:
        # A worker that stops answering fails the test with what it said, instead of hanging it.
        if not select.select([self.proc.stdout], [], [], 120)[0]:
            self.proc.kill()
            pytest.fail(f"worker (clock {self.offset:+g} s) silent for 120 s: {self.proc.stderr.read()}")
        line = self.proc.stdout.readline().strip()
        assert line, f"worker (clock {self.offset:+g} s) ended: {self.proc.stderr.read()}"
        return line

    def send(self, command: str) -> None:
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()

    def stop(self) -> None:
        self.proc.kill()
        self.proc.wait()


@pytest.fixture
def zoho() -> Iterator[ZohoMock]:
    """The strict Zoho mock with every Zoho duration scaled to the day's 16-second hours."""
    with ZohoMock(scale=3600 / LIFETIME_S) as mock:
        yield mock


@pytest.fixture
def strict(endpoint: str) -> Iterator[str]:
    with strict_aws(endpoint, "--seed", "24", "--lag", "2", "--tag-lag", "2", "--uneven-pages",
                    "--version-quota", "100", "--version-window", "86400") as url:
        yield url


def test_a_simulated_day_of_a_mixed_fleet(zoho, make_store, prefix, cli, strict, tmp_path):
    assert zoho.lifetime == LIFETIME_S
    keys = {k: base64.b64encode(secrets.token_bytes(32)).decode() for k in ("index", "k1", "k2")}
    ring = keyring("k1", keys=keys)
    base_env = dict(os.environ, AWS_ENDPOINT_URL=strict,
                    ZOHO_TOKEN_STORE_PREFIX=prefix, ZOHO_ACCOUNTS_URL=zoho.url)
    base_env.pop("ZOHO_TOKEN_STORE_KEYRING_SECRET", None)

    def env(keys_text: str) -> dict:
        return dict(base_env, ZOHO_TOKEN_STORE_KEYS=keys_text)

    def direct() -> object:
        """The store behind the model (LocalStack, consistent at once), for the test's own checks."""
        return make_store(keys=ring)

    def run_cli(*args: str, offset: float = 0) -> str:
        done = subprocess.run([str(cli), *args], env={**env(ring), **shifted(offset)}, capture_output=True, text=True,
                              timeout=120)
        assert done.returncode == 0, f"zoho-token-store {' '.join(args)}:\n{done.stdout}\n{done.stderr}"
        return done.stdout

    zoho.issue_refresh_token(REFRESH_A, email="soak-a@example.com")  # Zoho issued it before the day
    a = OAuthToken(refresh_token=REFRESH_A, access_token="access-old",
                   user_signature=UserSignature("soak-a@example.com:7001"), **CLIENT)
    a.set_expires_in(str(int(time.time() * 1000) - 1_000))
    make_store(keys=ring, endpoint_url=strict).save_token(a)
    a_id = a.get_id()

    def start_workers() -> List[Worker]:
        return [Worker(offset, env(ring), zoho.url, prefix, str(tmp_path)) for offset in OFFSETS]

    def until_due() -> None:
        """Until A is due again on every clock: the slowest clock (-1 s) sees it within the margin last."""
        expires = int(direct().find_token_by_id(a_id).get_expires_in()) / 1000
        time.sleep(max(0.0, expires - AHEAD_S - min(OFFSETS) + 0.3 - time.time()))

    def minted(refresh_token: str, since: int = 0) -> List[dict]:
        """The access tokens Zoho minted by refreshing `refresh_token`, from the `since`th record on."""
        return [r for r in zoho.issued[since:] if r["refresh_token"] == refresh_token and r["by"] == "refresh"]

    workers = start_workers()
    b_id = None
    killed: List[str] = []  # the access token minted for the holder killed while Zoho answered it
    # (The SDK's Initializer reads the token as it starts: the first worker has refreshed it.)
    busy_hours = []
    for hour in range(HOURS):
        until_due()
        hour_began = len(zoho.issued)
        if hour == SIGN_IN_HOUR:  # every SDK process meets the same new grant at once
            # Zoho's time stands still meanwhile: the grant lives 3 scaled minutes (0.8 s), about what six
            # processes on a loaded machine take to reach Zoho (0.5 to 0.75 s measured), which in Zoho's time
            # would be a sign-in of nearly 3 minutes. One exchange among them is what is tested here.
            with zoho.paused():
                zoho.grant(GRANT_B)  # the user's consent: Zoho accepts it once
                for w in workers:
                    w.send(f"signin {GRANT_B}")
                ids = {w.readline() for w in workers}
            assert len(ids) == 1 and zoho.exchanges == [GRANT_B], (ids, zoho.exchanges)
            assert zoho.stats()["grants"][GRANT_B]["spent"]
            b_id = ids.pop().split()[1]
        if hour in (STEP1_HOUR, STEP2_HOUR, RETIRE_HOUR):  # a deploy: every process gets the new keyring
            if hour == RETIRE_HOUR:
                # Retired first. B, deleted with a recovery window, may be restored, and AWS shows no value
                # to tell its key: retire refuses until the operator deletes it for good.
                refused = subprocess.run([str(cli), "retire", "k1"], env=env(ring), capture_output=True, text=True)
                assert refused.returncode == 1 and "recovery window" in refused.stderr, refused.stderr
                run_cli("delete", "--force", b_id)
                # Until the listings (lagging up to 2 s here, 5 min on AWS) stop showing it: retire asks
                # them, and refuses while they do.
                for _ in range(40):
                    retired = subprocess.run([str(cli), "retire", "k1"], env=env(ring), capture_output=True,
                                             text=True)
                    if retired.returncode == 0 or "recovery window" not in retired.stderr:
                        break
                    time.sleep(0.25)
                assert retired.returncode == 0, retired.stderr
            ring = {STEP1_HOUR: keyring("k1", "k2", keys=keys), STEP2_HOUR: keyring("k2", "k1", keys=keys),
                    RETIRE_HOUR: keyring("k2", keys=keys)}[hour]
            for w in workers:
                w.stop()
            workers = start_workers()
        if hour == REENCRYPT_HOUR:
            run_cli("rotate")
        if hour == DELETE_HOUR:
            # Every (restarted) worker holds B as the SDK does after finding it by its grant (no exchange),
            # then an operator deletes it.
            for w in workers:
                w.send(f"signin {GRANT_B}")
            assert {w.readline() for w in workers} == {f"signed-in {b_id}"}
            assert zoho.exchanges == [GRANT_B]
            run_cli("delete", b_id, offset=-1)
            for w in workers:
                w.send("save-signed-in")
                assert w.readline() == "refused TokenDeleted"
        if hour == CRASH_HOUR:
            # One process takes the lease and is killed while Zoho answers it: the others wait the lease
            # out (its time to live and the clock skew) and one of them refreshes.
            zoho.hang_next_refresh = True
            workers[0].send("tick")
            assert zoho.hung.wait(60), "the holder's refresh reached Zoho"
            workers[0].proc.send_signal(signal.SIGKILL)
            workers[0].proc.wait()
            zoho.release_hung()
            killed = [r["access_token"] for r in zoho.issued if r.get("hung")]
            assert len(killed) == 1, zoho.issued[hour_began:]
            workers[0] = Worker(OFFSETS[0], env(ring), zoho.url, prefix, str(tmp_path))

        # The hour's expiry: every SDK process serves a request, and the CLI's cron job runs twice.
        before = len(zoho.crm_calls)
        ticks_began = len(zoho.issued)
        current = [r["access_token"] for r in minted(REFRESH_A) if r["access_token"] not in killed][-1:]
        for w in workers:
            w.send("tick")
        crons = [subprocess.Popen([str(cli), "refresh-due", "--within", f"{AHEAD_S}s"],
                                  env={**env(ring), **shifted(offset)}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for offset in CRON_OFFSETS]
        assert all(w.readline() == "served" for w in workers)
        # The access token each request carried (the SDK object keeps its own stale copy; Zoho saw these).
        used = {token for path, token in zoho.crm_calls[before:] if path == "/crm/v8/org"}
        for cron in crons:
            out, err = cron.communicate(timeout=120)
            assert cron.returncode == 0, f"hour {hour}: {out}\n{err}"
        # The expiry was refreshed: by whichever process met it first (a worker restarted by a deploy
        # reads the token as it starts). Again only if it came due again meanwhile (see the docstring;
        # checked for the whole day at the end).
        this_hour = [r for r in minted(REFRESH_A, hour_began) if r["access_token"] not in killed]
        assert this_hour, f"hour {hour}: the expiry was not refreshed: {zoho.issued[hour_began:]}"
        if len(this_hour) > 1:
            busy_hours.append((hour, [round(r["replaced_left_real"] or 0, 1) for r in this_hour]))
        # Every process used the fleet's token: the one fresh as the requests began, or one refreshed
        # while they ran (never a token of its own: the SDK refreshing by itself would show as an early
        # refresh).
        fleet_tokens = set(current) | {r["access_token"] for r in minted(REFRESH_A, ticks_began)}
        assert used <= fleet_tokens, f"hour {hour}: {used - fleet_tokens} not the fleet's: {zoho.issued[hour_began:]}"


    for w in workers:
        w.stop()

    # One secret per identity; the deleted one not back; every token readable with the final keyring.
    ring_final = ring
    tokens = make_store(keys=ring_final).get_tokens()
    assert [t.get_id() for t in tokens] == [a_id]
    assert zoho.exchanges == [GRANT_B], "one exchange for the one sign-in"
    # Zoho's limits held all day: nothing refused, throttled or evicted, every CRM call with a live token.
    zoho_seen = zoho.stats()
    print("\nZoho over the day:", {k: v for k, v in zoho_seen.items() if isinstance(v, int)})
    assert (zoho_seen["refused_exchanges"], zoho_seen["refused_refreshes"], zoho_seen["access_denied"],
            zoho_seen["evicted"], zoho_seen["invalid_token"]) == (0, 0, 0, 0, 0), zoho_seen
    # At most one refresh per expiry, for A (the killed holder's token was never handed out) and for B
    # (refreshed by the cron while it lived): each refresh replaced a token within the margin.
    handed_out = [r for r in minted(REFRESH_A) if r["access_token"] not in killed]
    refreshes_a = len(handed_out)
    print(f"\nA refreshed {refreshes_a} times in {HOURS} hours (and once for the killed holder); hours with a "
          f"second refresh (life left, s, on the token each replaced): {busy_hours or 'none'}; life left on "
          f"the token each refresh replaced: {[round(r['replaced_left_real'] or 0, 1) for r in handed_out]}")
    for refresh_token in (REFRESH_A, f"refresh-for-{GRANT_B}"):
        early = zoho.early_refreshes(refresh_token, FRESH_LEFT_S, ignore=killed)
        assert early == [], f"{refresh_token}: refreshed with more than {FRESH_LEFT_S} s left: {early}"
    seen = strict_stats(strict)
    assert seen["quota_refusals"] == 0, seen
    assert seen["lagged_answers"] > 0 and seen["pages"] > 0
    written = seen["versions_written"]
    token_a = f"{prefix}{a_id}"
    # A's secret: the first save, one version per refresh, one re-encryption. No secret was written more
    # than twice per refresh (the token's own and its lease's).
    assert written[token_a] <= 1 + refreshes_a + 1, written
    assert all(n <= 2 * (refreshes_a + 1) for n in written.values()), written
    print("\nversions written per secret over the day:")
    for name, n in sorted(written.items()):
        print(f"  {n:4d}  {name.removeprefix(prefix)}")
