"""Bad keys, an unreachable endpoint and a throttled service raise clear SDKExceptions (code
TOKEN_STORE, a kind to act on, a message that says how to fix it) that never hold a secret."""

from __future__ import annotations

import pytest
from zohocrmsdk.src.com.zoho.api.authenticator.oauth_token import OAuthToken
from zohocrmsdk.src.com.zoho.crm.api.exception.sdk_exception import SDKException
from zohocrmsdk.src.com.zoho.crm.api.user_signature import UserSignature

from conftest import new_keys
from zoho_token_store import SecretsManagerTokenStore

SECRETS = ("client-secret-x", "refresh-x", "access-x", "grant-x")


def token() -> OAuthToken:
    t = OAuthToken(client_id="1000.CLIENT", client_secret="client-secret-x", grant_token="grant-x",
                   refresh_token="refresh-x", access_token="access-x", user_signature=UserSignature("x@example.com"))
    t.set_expires_in("1767225600000")
    return t


def no_secret_in(error: BaseException, *also: str) -> None:
    text = f"{error} {error!r} {error.args!r}"
    for secret in SECRETS + also:
        assert secret not in text, f"{secret!r} leaked into {text!r}"


def test_malformed_or_missing_keys_are_named_at_construction(endpoint, prefix, monkeypatch):
    keys = new_keys()
    broken = keys.replace("index=", "index=!!")
    with pytest.raises(SDKException) as raised:
        SecretsManagerTokenStore(prefix=prefix, keys=broken)
    assert raised.value.code == "TOKEN_STORE" and raised.value.kind == "InvalidConfig"
    assert "index" in str(raised.value)
    no_secret_in(raised.value, keys.split(",")[0][6:], keys.split(",")[1][3:])

    monkeypatch.delenv("ZOHO_TOKEN_STORE_KEYS", raising=False)
    with pytest.raises(SDKException) as raised:
        SecretsManagerTokenStore(prefix=prefix)
    assert raised.value.kind == "InvalidConfig" and "ZOHO_TOKEN_STORE_KEYS" in str(raised.value)

    monkeypatch.setenv("ZOHO_TOKEN_STORE_KEYS", keys)
    assert SecretsManagerTokenStore(prefix=prefix).prefix == prefix, "keys=None reads the variable"

    with pytest.raises(SDKException) as raised:
        SecretsManagerTokenStore(prefix="bad prefix!", keys=keys)
    assert raised.value.kind == "InvalidConfig" and "prefix" in str(raised.value)
    with pytest.raises(SDKException) as raised:
        SecretsManagerTokenStore(prefix=prefix, keys=keys, recovery_window_days=3)
    assert raised.value.kind == "InvalidConfig" and "7 to 30" in str(raised.value)
    with pytest.raises(SDKException) as raised:
        SecretsManagerTokenStore(prefix=prefix, keys=keys, keyring_secret="ring")
    assert raised.value.kind == "InvalidConfig" and "not both" in str(raised.value)
    # Beyond the manager's longest margin (15 minutes) refreshing ahead would do nothing but fail: refused.
    for seconds in (3, 901, float("inf")):
        with pytest.raises(SDKException) as raised:
            SecretsManagerTokenStore(prefix=prefix, keys=keys, refresh_ahead_seconds=seconds)
        assert raised.value.kind == "InvalidConfig" and "at most 900" in str(raised.value), seconds
    assert SecretsManagerTokenStore(prefix=prefix, keys=keys, refresh_ahead_seconds=900).prefix == prefix
    with pytest.raises(SDKException) as raised:
        SecretsManagerTokenStore(prefix=prefix, keys=keys, cache_ttl_seconds=-1)
    assert raised.value.kind == "InvalidConfig" and "0 for no cache" in str(raised.value)


def test_refreshing_ahead_and_the_cache_are_on_unless_turned_off(endpoint, prefix, keys, monkeypatch):
    monkeypatch.setenv("ZOHO_TOKEN_STORE_KEYS", keys)
    # No option at all: the default prefix, the keys from the environment, both on.
    assert SecretsManagerTokenStore().prefix == "zoho/oauth/"
    assert SecretsManagerTokenStore()._refresh_ahead
    # 0 turns either off (a single-process app: the store never calls Zoho, as FileStore); None, the
    # former default, still means off.
    for off in (0, None):
        store = SecretsManagerTokenStore(prefix=prefix, refresh_ahead_seconds=off, cache_ttl_seconds=off)
        assert not store._refresh_ahead


def test_another_stores_keys_are_named_not_taken_for_an_empty_store(make_store, prefix):
    make_store().save_token(token())
    stranger = SecretsManagerTokenStore(prefix=prefix, keys=new_keys(), recovery_window_days=0)
    with pytest.raises(SDKException) as raised:
        stranger.find_token(OAuthToken(user_signature=UserSignature("x@example.com")))
    assert raised.value.kind == "WrongIndexKey" and "ZOHO_TOKEN_STORE_KEYS" in str(raised.value)
    no_secret_in(raised.value)
    [stored_id] = [t.get_id() for t in make_store().get_tokens()]
    with pytest.raises(SDKException) as raised:
        stranger.find_token_by_id(stored_id)
    assert raised.value.kind == "Decrypt" and "wrong key" in str(raised.value)
    no_secret_in(raised.value)
    with pytest.raises(SDKException) as raised:
        stranger.get_tokens()
    assert raised.value.kind == "Decrypt" and stored_id in str(raised.value), "the entry is named"


def test_an_unreachable_endpoint_is_retryable_and_says_where_to_look(keys, prefix, monkeypatch):
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    store = SecretsManagerTokenStore(prefix=prefix, keys=keys, endpoint_url="http://127.0.0.1:9",
                                     region="us-east-1")
    with pytest.raises(SDKException) as raised:
        store.save_token(token())
    error = raised.value
    assert error.code == "TOKEN_STORE" and error.kind == "Backend" and error.retryable
    assert "could not connect" in str(error) and "AWS_ENDPOINT_URL" in str(error)
    no_secret_in(error)


def test_a_throttled_service_raises_kind_throttled(make_store, throttling_aws):
    store = make_store(endpoint_url=throttling_aws())
    for call in (lambda: store.save_token(token()), lambda: store.find_token_by_id("t1"),
                 lambda: store.find_token(OAuthToken(user_signature=UserSignature("x@example.com"))),
                 store.get_tokens, lambda: store.delete_token("t1")):
        with pytest.raises(SDKException) as raised:
            call()
        assert raised.value.kind == "Throttled" and raised.value.retryable, raised.value
        assert "ThrottlingException" in str(raised.value)
        no_secret_in(raised.value)


def test_nothing_secret_in_reprs(make_store):
    store = make_store()
    t = token()
    store.save_token(t)
    assert store.prefix in repr(store)
    for secret in SECRETS:
        assert secret not in repr(store)


def test_a_service_that_stops_answering_times_out_instead_of_hanging(make_store, throttling_aws):
    # The endpoint holds every answer (30 s, unless released, which this test never does); the store
    # gives up on the attempt after 10 s.
    store = make_store(endpoint_url=throttling_aws(hold=True))
    with pytest.raises(SDKException) as raised:
        store.find_token_by_id("t1")
    assert raised.value.kind == "Backend" and raised.value.retryable
    assert "did not answer in time" in str(raised.value), raised.value
