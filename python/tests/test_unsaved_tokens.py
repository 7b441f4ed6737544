"""A token Zoho issued is never thrown away: when AWS refuses its save (here as it refuses a role missing
an IAM permission, through `aws_deny.py` in front of LocalStack), the process goes on with it, the log
names the AWS cause, a later lookup saves it, and neither the spent grant is exchanged again (Zoho would
answer `invalid_code`) nor the token refreshed again. A token deleted meanwhile stays deleted."""

from __future__ import annotations

import json
import logging
import re
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Callable, Iterator, List, Optional

import pytest
from zohocrmsdk.src.com.zoho.api.authenticator.oauth_token import OAuthToken
from zohocrmsdk.src.com.zoho.crm.api.dc.data_center import DataCenter
from zohocrmsdk.src.com.zoho.crm.api.initializer import Initializer
from zohocrmsdk.src.com.zoho.crm.api.org import OrgOperations
from zohocrmsdk.src.com.zoho.crm.api.user_signature import UserSignature

REFRESH = "refresh-kept"
USER = "kept@example.com:7001"


class Denying:
    """`aws_deny.py` in front of LocalStack: refuses the operations asked, on the secrets asked."""

    def __init__(self, upstream: str) -> None:
        self.proc = subprocess.Popen([sys.executable, str(Path(__file__).with_name("aws_deny.py")), upstream],
                                     stdout=subprocess.PIPE, text=True)
        port = self.proc.stdout.readline().strip()
        assert port.isdigit(), f"aws_deny did not start: {port!r}"
        self.url = f"http://127.0.0.1:{port}"

    def deny(self, operations: List[str], names: Optional[str] = None) -> None:
        body = json.dumps({"operations": operations, "names": names}).encode()
        urllib.request.urlopen(urllib.request.Request(self.url + "/_deny", data=body, method="POST")).read()

    def denied(self) -> List[str]:
        with urllib.request.urlopen(self.url + "/_denied") as answer:
            return json.load(answer)["denied"]


@pytest.fixture
def denying(endpoint: str) -> Iterator[Denying]:
    proxy = Denying(endpoint)
    yield proxy
    proxy.proc.kill()
    proxy.proc.wait()


def warnings(caplog: pytest.LogCaptureFixture) -> List[str]:
    return [r.getMessage() for r in caplog.records
            if r.name.startswith("zoho_token_store") and r.levelno >= logging.WARNING]


def until(condition: Callable[[], bool], what: str, seconds: float = 20) -> None:
    """Polls `condition` (each poll a lookup, as the app's next requests make) until it holds."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"not within {seconds} s: {what}"
        time.sleep(0.2)


def test_a_grants_token_aws_refused_serves_the_app_and_is_saved_later_never_exchanged_again(
        zoho, denying, make_store, prefix, tmp_path, caplog):
    store = make_store(endpoint_url=denying.url)  # the package's defaults otherwise
    direct = make_store(refresh_ahead_seconds=0)  # what is stored, as an operator reads it
    # A role that may create the store's leases and bridges but not its tokens' own secrets.
    denying.deny(["CreateSecret"], names=f"^{re.escape(prefix)}[^/]+$")
    zoho.grant("code-kept")
    token = OAuthToken(client_id="1000.CLIENT", client_secret="client-secret", grant_token="code-kept",
                       redirect_url="https://app.example.com/cb")
    Initializer.initialize(environment=DataCenter.Environment(zoho.url, zoho.accounts_url, zoho.url),
                           token=token, store=store, resource_path=str(tmp_path))

    # The app works with the exchanged token; the log says why it is not saved, naming AWS's refusal.
    assert OrgOperations().get_organization().get_status_code() == 200
    assert zoho.exchanges == ["code-kept"]
    assert direct.get_tokens() == []
    said = warnings(caplog)
    assert any("could not save" in w and "CreateSecret" in w and "AccessDenied" in w for w in said), said
    # More requests: the same token, the spent grant not exchanged again, still nothing stored.
    for _ in range(3):
        assert OrgOperations().get_organization().get_status_code() == 200
    assert zoho.exchanges == ["code-kept"]
    assert direct.get_tokens() == []

    # AWS takes the write again: a later request's lookup saves the token.
    denying.deny([])
    until(lambda: OrgOperations().get_organization().get_status_code() == 200 and len(direct.get_tokens()) == 1,
          "the kept token saved")
    [stored] = direct.get_tokens()
    assert stored.get_refresh_token() is not None
    assert stored.get_user_signature().get_name() == "alice@example.com:7001"
    # Another process started with the same grant finds it: still one exchange, none refused.
    again = OAuthToken(client_id="1000.CLIENT", client_secret="client-secret", grant_token="code-kept",
                       redirect_url="https://app.example.com/cb")
    Initializer.initialize(environment=DataCenter.Environment(zoho.url, zoho.accounts_url, zoho.url),
                           token=again, store=make_store(), resource_path=str(tmp_path))
    assert OrgOperations().get_organization().get_status_code() == 200
    assert again.get_id() == stored.get_id()
    assert zoho.exchanges == ["code-kept"]
    seen = zoho.stats()
    assert (seen["refused_exchanges"], seen["invalid_token"], seen["refreshes"]) == (0, 0, 0), seen
    assert "CreateSecret" in denying.denied()


def test_a_refreshed_token_aws_refused_is_used_not_refreshed_again_saved_later_and_a_delete_stands(
        zoho, denying, make_store, prefix, tmp_path, caplog):
    zoho.issue_refresh_token(REFRESH, email="kept@example.com")
    store = make_store(endpoint_url=denying.url)
    direct = make_store(refresh_ahead_seconds=0)  # what is stored, as an operator reads it

    def expired_token() -> str:
        token = OAuthToken(client_id="1000.CLIENT", client_secret="client-secret", refresh_token=REFRESH,
                           access_token="access-old", user_signature=UserSignature(USER),
                           redirect_url="https://app.example.com/cb")
        token.set_expires_in(str(int(time.time() * 1000) - 1_000))
        direct.save_token(token)
        return token.get_id()

    token_id = expired_token()
    # The SDK's environment (where the store refreshes), set through another prefix's store.
    Initializer.initialize(environment=DataCenter.Environment(zoho.url, zoho.accounts_url, zoho.url),
                           token=OAuthToken(access_token="x", find_user=False),
                           store=make_store(prefix=prefix.rstrip("/") + "-sdk/"), resource_path=str(tmp_path))
    denying.deny(["PutSecretValue"])

    # Refreshed, refused by AWS: the fresh token is handed out, the cause logged, no second refresh.
    fresh = store.find_token_by_id(token_id).get_access_token()
    assert fresh != "access-old"
    said = warnings(caplog)
    assert any("could not save" in w and "PutSecretValue" in w and "AccessDenied" in w for w in said), said
    for _ in range(3):
        assert store.find_token_by_id(token_id).get_access_token() == fresh
    assert zoho.refreshes == [REFRESH], "one refresh: the kept token is used"
    assert direct.find_token_by_id(token_id).get_access_token() == "access-old"

    # Saved by a later lookup once AWS takes it.
    denying.deny([])
    until(lambda: store.find_token_by_id(token_id).get_access_token() == fresh
          and direct.find_token_by_id(token_id).get_access_token() == fresh, "the kept token saved")
    assert zoho.refreshes == [REFRESH]

    # Refused again, and an operator deletes the token before AWS takes writes again: it stays deleted.
    expired_token_id = token_id
    stale = direct.find_token_by_id(expired_token_id)
    stale.set_expires_in(str(int(time.time() * 1000) - 1_000))
    direct.save_token(stale)
    denying.deny(["PutSecretValue"])
    assert store.find_token_by_id(token_id).get_access_token() not in ("access-old", fresh)
    assert len(zoho.refreshes) == 2
    direct.delete_token(token_id)
    denying.deny([])
    by_user = OAuthToken(user_signature=UserSignature(USER), find_user=False)
    assert store.find_token(by_user) is None, "not handed out once deleted"
    time.sleep(1.2)  # past the first pause before a kept token is saved again
    for _ in range(3):
        assert store.find_token(by_user) is None
    assert direct.get_tokens() == [], "not re-created"
    assert len(zoho.refreshes) == 2
