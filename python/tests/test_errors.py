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
        # No cache: every read of a token is a GetSecretValue of its own.
        saved = token()
        saved.set_user_signature(UserSignature(f"cache-{off}@example.com"))
        store.save_token(saved)
        store.reset_calls()
        store.find_token_by_id(saved.get_id())
        store.find_token_by_id(saved.get_id())
        assert store.calls().get("GetSecretValue") == 2, store.calls()
    cached = SecretsManagerTokenStore(prefix=prefix, refresh_ahead_seconds=0)
    cached.find_token_by_id(saved.get_id())
    cached.reset_calls()
    cached.find_token_by_id(saved.get_id())
    assert cached.calls().get("GetSecretValue") is None, "the default cache answers a second read"


def test_another_stores_keys_are_named_not_taken_for_an_empty_store(make_store, prefix):
    make_store().save_token(token())
    stranger = SecretsManagerTokenStore(prefix=prefix, keys=new_keys(), recovery_window_days=0)
    with pytest.raises(SDKException) as raised:
        stranger.find_token(OAuthToken(user_signature=UserSignature("x@example.com")))
    assert raised.value.kind == "WrongIndexKey" and "ZOHO_TOKEN_STORE_KEYS" in str(raised.value)
    assert "keys=" in str(raised.value) and "::" not in str(raised.value), raised.value
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


# Every constructor argument, given a wrong type and values out of range: what Python code expects
# (TypeError for a type, TokenStoreError of kind InvalidConfig for a value), each message naming the
# argument as a Python caller writes it and never a Rust path.
WRONG_TYPES = {
    "prefix": 1,
    "keys": 1,
    "keyring_secret": b"ring",
    "kms_key_id": 1,
    "endpoint_url": 1,
    "region": ["us-east-1"],
    "cache_ttl_seconds": "30",
    "recovery_window_days": 7.0,
    "allow_unbound_keyring": "yes",
    "refresh_ahead_seconds": True,
}
BAD_VALUES = {
    "prefix": ["bad prefix!", ""],
    "keys": ["index=!!", "k1=c2VjcmV0"],
    "kms_key_id": ["alias/zoho"],  # without keyring_secret
    "endpoint_url": ["127.0.0.1:4566", "localhost", "ftp://127.0.0.1:4566", " http://127.0.0.1:4566"],
    "region": ["us-east-1 ", "", "US-EAST-1", "us east 1"],
    "cache_ttl_seconds": [-1, float("nan"), float("inf"), 1e20, 10**20],
    "recovery_window_days": [3, -1, 31, 10**40],
    "refresh_ahead_seconds": [3, -5, 901, float("nan")],
}


def test_every_argument_of_the_wrong_type_or_value_is_named_as_python_writes_it(endpoint, prefix, keys):
    assert set(WRONG_TYPES) == set(BAD_VALUES) | {"keyring_secret", "allow_unbound_keyring"}
    import inspect

    assert set(WRONG_TYPES) == set(inspect.signature(SecretsManagerTokenStore).parameters), (
        "every constructor argument is swept"
    )
    for name, wrong in WRONG_TYPES.items():
        options = {"prefix": prefix, "keys": keys, name: wrong}
        with pytest.raises(TypeError) as raised:
            SecretsManagerTokenStore(**options)
        message = str(raised.value)
        assert f"{name}=" in message and type(wrong).__name__ in message, message
        assert "::" not in message, message
    for name, values in BAD_VALUES.items():
        for value in values:
            options = {"prefix": prefix, "keys": keys, name: value}
            with pytest.raises(SDKException) as raised:
                SecretsManagerTokenStore(**options)
            message = str(raised.value)
            assert raised.value.kind == "InvalidConfig", (name, value, message)
            assert f"{name}=" in message, (name, value, message)
            assert "::" not in message, message
            no_secret_in(raised.value, keys.split(",")[0][6:])
            if name == "keys":
                assert value.split("=", 1)[1] not in message, "the bad keyring is not echoed"
    # A malformed region or endpoint is named as given, spaces and all.
    with pytest.raises(SDKException) as raised:
        SecretsManagerTokenStore(prefix=prefix, keys=keys, region="us-east-1 ")
    assert "region='us-east-1 '" in str(raised.value)
    with pytest.raises(SDKException) as raised:
        SecretsManagerTokenStore(prefix=prefix, keys=keys, endpoint_url="127.0.0.1:4566")
    assert "endpoint_url='127.0.0.1:4566'" in str(raised.value) and "http://" in str(raised.value)
    # The fixes name what to give instead, in Python.
    with pytest.raises(SDKException) as raised:
        SecretsManagerTokenStore(prefix=prefix, keys=keys, recovery_window_days=3)
    assert "recovery_window_days=0" in str(raised.value)
    # Every value the messages call valid is taken.
    for fine in ({"recovery_window_days": 0}, {"recovery_window_days": 30}, {"cache_ttl_seconds": 2.5},
                 {"refresh_ahead_seconds": 900}, {"region": "us-gov-west-1"},
                 {"endpoint_url": "https://secretsmanager.us-east-1.amazonaws.com"}):
        SecretsManagerTokenStore(prefix=prefix, keys=keys, **fine)


def test_every_method_given_the_wrong_type_says_which_argument(make_store):
    store = make_store()
    calls = {
        "save_token(token)": lambda: store.save_token("a token"),
        "delete_token(id)": lambda: store.delete_token(None),
        "find_token_by_id(id)": lambda: store.find_token_by_id(7),
    }
    for where, call in calls.items():
        with pytest.raises(TypeError) as raised:
            call()
        assert str(raised.value).startswith(where), raised.value
        assert "::" not in str(raised.value)
    # A token field of the wrong type names the field; an unknown id names the id and the prefix.
    bad = token()
    bad.set_expires_in("soon")
    with pytest.raises(SDKException) as raised:
        store.save_token(bad)
    assert raised.value.kind == "InvalidToken" and "expires_in" in str(raised.value)
    with pytest.raises(SDKException) as raised:
        store.delete_token("absent1")
    assert raised.value.kind == "NotFound" and "absent1" in str(raised.value)
    assert "::" not in str(raised.value)


def test_configuration_the_service_refuses_names_the_python_fix(endpoint, prefix, keys, monkeypatch):
    # A keyring secret that does not exist: the command that creates it, not a Rust function.
    store = SecretsManagerTokenStore(prefix=prefix, keyring_secret=f"{prefix}absent-ring", recovery_window_days=0)
    with pytest.raises(SDKException) as raised:
        store.find_token(OAuthToken(user_signature=UserSignature("x@example.com")))
    message = str(raised.value)
    assert raised.value.kind == "KeySource" and "::" not in message, message
    assert f"zoho-token-store --keyring-secret {prefix}absent-ring init-keyring" in message, message
    # Nothing listening at endpoint_url: the argument is named, not only the environment variable.
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    store = SecretsManagerTokenStore(prefix=prefix, keys=keys, endpoint_url="http://127.0.0.1:9", region="us-east-1")
    with pytest.raises(SDKException) as raised:
        store.get_tokens()
    assert "endpoint_url=" in str(raised.value) and "::" not in str(raised.value), raised.value
