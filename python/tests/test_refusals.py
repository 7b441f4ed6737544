"""Zoho's refusals of a refresh token, as an SDK app meets them on the store's defaults: a revoked refresh
token is marked on the stored token, lookups then raise one line naming the user and the fix (no process
asks Zoho again), `zoho-token-store list` shows it, and a new sign-in replaces it."""

from __future__ import annotations

import time

import pytest
from zohocrmsdk.src.com.zoho.api.authenticator.oauth_token import OAuthToken
from zohocrmsdk.src.com.zoho.crm.api.dc.data_center import DataCenter
from zohocrmsdk.src.com.zoho.crm.api.initializer import Initializer
from zohocrmsdk.src.com.zoho.crm.api.org import OrgOperations

from zoho_token_store import TokenStoreError


def sign_in(zoho, store, code: str, resources: str) -> OAuthToken:
    token = OAuthToken(client_id="1000.CLIENT", client_secret="client-secret", grant_token=code,
                       redirect_url="https://app.example.com/callback")
    environment = DataCenter.Environment(zoho.url, zoho.accounts_url, zoho.url)
    Initializer.initialize(environment=environment, token=token, store=store, resource_path=resources)
    return token


def test_a_revoked_refresh_token_fails_lookups_by_name_until_a_new_sign_in(zoho, make_store, run_cli, tmp_path):
    store = make_store()  # the defaults: refreshing ahead for the fleet
    zoho.grant("code-1")
    sign_in(zoho, store, "code-1", str(tmp_path))
    [saved] = store.get_tokens()
    assert OrgOperations().get_organization().get_status_code() == 200

    # The user revokes the app's access in Zoho; later the access token expires.
    zoho.accounts.revoke(saved.get_refresh_token())
    expired = store.find_token_by_id(saved.get_id())
    expired.set_expires_in(str(int(time.time() * 1000) - 1_000))
    store.save_token(expired)
    with pytest.raises(TokenStoreError) as raised:
        store.find_token_by_id(saved.get_id())
    error = raised.value
    assert error.kind == "TokenRevoked" and not error.retryable
    message = str(error)
    assert "alice@example.com:7001" in message and "sign the user in again" in message, message
    assert saved.get_refresh_token() not in message
    assert "::" not in message
    asked = len(zoho.refreshes)
    # Every later lookup says the same without asking Zoho.
    for _ in range(3):
        with pytest.raises(TokenStoreError):
            store.find_token_by_id(saved.get_id())
    assert len(zoho.refreshes) == asked == 1
    listed = run_cli("list").stdout
    assert "revoked" in listed and saved.get_refresh_token() not in listed, listed

    # The user signs in again: the new grant's token replaces the revoked one.
    zoho.grant("code-2")
    sign_in(zoho, store, "code-2", str(tmp_path))
    assert OrgOperations().get_organization().get_status_code() == 200
    [replaced] = store.get_tokens()
    assert replaced.get_id() == saved.get_id()
    assert replaced.get_refresh_token() not in (None, saved.get_refresh_token())
    assert "revoked" not in run_cli("list").stdout
