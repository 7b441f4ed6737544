"""The SDK's calling conventions, as its own FileStore follows them, and the costs of each operation."""

from __future__ import annotations

import pytest
from zohocrmsdk.src.com.zoho.api.authenticator.oauth_token import OAuthToken
from zohocrmsdk.src.com.zoho.crm.api.exception.sdk_exception import SDKException
from zohocrmsdk.src.com.zoho.crm.api.user_signature import UserSignature


def signed_in(user: str = "alice@example.com:7001", tag: str = "a") -> OAuthToken:
    token = OAuthToken(
        client_id="1000.CLIENT",
        client_secret=f"secret-{tag}",
        grant_token=f"grant-{tag}",
        refresh_token=f"refresh-{tag}",
        redirect_url="https://app.example.com/callback",
        access_token=f"access-{tag}",
        user_signature=UserSignature(user),
        api_domain="https://www.zohoapis.com",
    )
    token.set_expires_in("1767225600000")
    return token


def test_find_token_fills_the_token_passed_in_and_returns_it(make_store):
    store = make_store()
    saved = signed_in()
    assert store.save_token(saved) is None
    assert saved.get_id() is not None, "save_token sets the id on the token passed in"

    query = OAuthToken(user_signature=UserSignature("alice@example.com:7001"), access_token="mine")
    found = store.find_token(query)
    assert found is query, "the same object, as FileStore returns it"
    assert query.get_access_token() == "mine", "the caller's values win"
    assert query.get_refresh_token() == "refresh-a"
    assert query.get_id() == saved.get_id()
    assert query.get_expires_in() == "1767225600000", "epoch milliseconds, as a string"
    assert isinstance(query.get_user_signature(), UserSignature)

    by_refresh = OAuthToken(client_id="1000.CLIENT", client_secret="x", refresh_token="refresh-a")
    assert store.find_token(by_refresh).get_user_signature().get_name() == "alice@example.com:7001"
    by_access = OAuthToken(access_token="access-a")
    assert store.find_token(by_access).get_id() == saved.get_id()

    assert store.find_token(OAuthToken(user_signature=UserSignature("nobody@example.com"))) is None
    assert store.find_token("not a token") == "not a token", "as FileStore: returned as given"


def test_absent_ids_raise_sdk_exceptions_as_filestore_does(make_store):
    store = make_store()
    saved = signed_in()
    store.save_token(saved)
    for call in (store.find_token_by_id, store.delete_token):
        with pytest.raises(SDKException) as raised:
            call("absent1")
        assert raised.value.code == "TOKEN_STORE" and raised.value.kind == "NotFound"
        assert "absent1" in str(raised.value) and store.prefix in str(raised.value)
    store.delete_token(saved.get_id())
    with pytest.raises(SDKException):
        store.delete_token(saved.get_id())
    with pytest.raises(SDKException) as raised:
        store.find_token_by_id("not/an/id")
    assert raised.value.kind == "InvalidToken"


def test_get_tokens_and_find_by_id_return_new_sdk_tokens(make_store):
    store = make_store()
    a, b = signed_in("a@example.com:1", "a"), signed_in("b@example.com:1", "b")
    store.save_token(a)
    store.save_token(b)
    tokens = store.get_tokens()
    assert all(type(t) is OAuthToken for t in tokens)
    assert sorted(t.get_user_signature().get_name() for t in tokens) == ["a@example.com:1", "b@example.com:1"]
    found = store.find_token_by_id(a.get_id())
    assert type(found) is OAuthToken and found is not a
    fields = ["id", "client_id", "client_secret", "grant_token", "refresh_token", "access_token",
              "expires_in", "redirect_url", "api_domain"]
    assert {f: getattr(found, "get_" + f)() for f in fields} == {f: getattr(a, "get_" + f)() for f in fields}
    store.delete_tokens()
    assert store.get_tokens() == []


def test_save_fills_from_the_stored_token_first_and_refuses_what_it_cannot_store(make_store):
    store = make_store()
    full = signed_in()
    store.save_token(full)
    update = OAuthToken(user_signature=UserSignature("alice@example.com:7001"), access_token="access-2")
    store.save_token(update)
    assert update.get_id() == full.get_id() and update.get_refresh_token() == "refresh-a"
    assert store.find_token_by_id(full.get_id()).get_refresh_token() == "refresh-a", "not dropped"

    with pytest.raises(SDKException) as raised:
        store.save_token(OAuthToken(user_signature=UserSignature("nobody@example.com")))
    assert raised.value.kind == "InvalidToken" and "not found" in str(raised.value)
    with pytest.raises(TypeError, match=r"^save_token\(token\): token takes an OAuthToken, not dict"):
        store.save_token({"user_name": "x"})
    with pytest.raises(SDKException) as raised:
        bad = signed_in("c@example.com", "c")
        bad.set_expires_in("tomorrow")
        store.save_token(bad)
    assert raised.value.kind == "InvalidToken" and "epoch milliseconds" in str(raised.value)
    assert len(store.get_tokens()) == 1


def test_each_operation_costs_what_the_rust_store_does(make_store):
    store = make_store(cache_ttl_seconds=30)
    token = signed_in()
    store.save_token(token)
    store.reset_calls()
    query = OAuthToken(user_signature=UserSignature("alice@example.com:7001"))
    assert store.find_token(query) is query
    assert store.find_token_by_id(token.get_id()) is not None
    assert store.calls() == {}, "both served by the warm cache"
    store.reset_calls()
    uncached = make_store()
    uncached.reset_calls()
    uncached.find_token_by_id(token.get_id())
    assert uncached.calls() == {"GetSecretValue": 1}


def test_the_sdks_save_after_a_refresh_never_brings_back_a_token_deleted_meanwhile(make_store):
    # The SDK found the token (it carries its id), an operator deleted it, the SDK refreshed and saves.
    store = make_store()
    found = signed_in(tag="gone")
    store.save_token(found)
    store.delete_token(found.get_id())
    found.set_access_token("access-after-refresh")
    with pytest.raises(SDKException) as raised:
        store.save_token(found)
    assert raised.value.kind == "TokenDeleted", raised.value
    assert store.find_token(OAuthToken(user_signature=UserSignature("alice@example.com:7001"))) is None
    assert store.get_tokens() == []

    # A new sign-in (no id yet) is stored as before.
    fresh = signed_in(tag="again")
    store.save_token(fresh)
    assert store.find_token_by_id(fresh.get_id()).get_refresh_token() == "refresh-again"
