"""One format across languages: what Python saves the Rust CLI finds, and what the CLI imports (from the
SDK's own FileStore file, the README's migration path) Python finds."""

from __future__ import annotations

import json

from zohocrmsdk.src.com.zoho.api.authenticator.oauth_token import OAuthToken
from zohocrmsdk.src.com.zoho.api.authenticator.store.file_store import FileStore
from zohocrmsdk.src.com.zoho.crm.api.user_signature import UserSignature

FIELDS = ("client_id", "client_secret", "grant_token", "refresh_token", "access_token", "redirect_url",
          "api_domain")


def sdk_token(user: str, tag: str) -> OAuthToken:
    token = OAuthToken(client_id="1000.CLIENT", client_secret=f"secret-{tag}", refresh_token=f"refresh-{tag}",
                       redirect_url="https://app.example.com/cb", access_token=f"access-{tag}",
                       user_signature=UserSignature(user), api_domain="https://www.zohoapis.eu")
    token.set_expires_in("1767225600000")
    return token


def test_a_token_saved_from_python_is_found_and_deleted_by_the_cli(make_store, run_cli):
    store = make_store()
    token = sdk_token("py@example.com:1", "py")
    store.save_token(token)

    found = json.loads(run_cli("find", "--user", "py@example.com:1", "--reveal", "--json").stdout)
    assert found["id"] == token.get_id()
    assert found["user_name"] == "py@example.com:1"
    assert found["expiry_time"] == 1767225600000
    assert {f: found[f] for f in FIELDS} == {f: getattr(token, "get_" + f)() for f in FIELDS}
    by_refresh = json.loads(
        run_cli("find", "--refresh-token", "refresh-py", "--client-id", "1000.CLIENT", "--json").stdout)
    assert by_refresh["id"] == token.get_id()
    assert "refresh-py" not in json.dumps(by_refresh), "the CLI redacts unless --reveal"

    run_cli("delete", token.get_id())
    assert store.find_token(OAuthToken(user_signature=UserSignature("py@example.com:1"))) is None


def test_tokens_the_cli_imports_from_an_sdk_file_store_are_found_from_python(make_store, run_cli, tmp_path):
    # The file as the SDK's own FileStore writes it.
    path = tmp_path / "sdk_tokens.txt"
    file_store = FileStore(str(path))
    originals = [sdk_token(f"user{n}@example.com:1", f"t{n}") for n in range(3)]
    for token in originals:
        file_store.save_token(token)

    report = json.loads(run_cli("import", str(path), "--json").stdout)
    assert report["created"] == 3, report

    store = make_store()
    for original in originals:
        name = original.get_user_signature().get_name()
        query = OAuthToken(user_signature=UserSignature(name))
        assert store.find_token(query) is query
        assert {f: getattr(query, "get_" + f)() for f in FIELDS} == {f: getattr(original, "get_" + f)()
                                                                    for f in FIELDS}
        assert query.get_expires_in() == "1767225600000"
        assert query.get_id() == original.get_id(), "the SDK's numeric ids are kept"
        by_id = store.find_token_by_id(original.get_id())
        assert by_id.get_refresh_token() == original.get_refresh_token()
    assert len(store.get_tokens()) == 3

    again = json.loads(run_cli("import", str(path), "--json").stdout)
    assert again["unchanged"] == 3 and again["created"] == 0, again
    assert len(store.get_tokens()) == 3


def test_a_kms_wrapped_keyring_secret_made_by_the_cli_serves_python_and_the_cli(endpoint, prefix, run_cli,
                                                                              monkeypatch):
    import boto3
    from zohocrmsdk.src.com.zoho.crm.api.exception.sdk_exception import SDKException

    from zoho_token_store import SecretsManagerTokenStore

    kms = boto3.client("kms", endpoint_url=endpoint, region_name="us-east-1")
    key = kms.create_key(Description="zoho-token-store python test")["KeyMetadata"]["Arn"]
    ring = prefix.rstrip("/") + "-keyring"  # outside the token prefix
    keyring = ("--keyring-secret", ring, "--kms-key-id", key)
    run_cli(*keyring, "init-keyring")

    store = SecretsManagerTokenStore(prefix=prefix, keyring_secret=ring, kms_key_id=key, recovery_window_days=0)
    token = sdk_token("kms@example.com:1", "kms")
    store.save_token(token)
    found = json.loads(run_cli(*keyring, "find", "--user", "kms@example.com:1", "--json").stdout)
    assert found["id"] == token.get_id()
    usage = json.loads(run_cli(*keyring, "keys", "--json").stdout)
    assert usage == {"k1": 1}, usage

    # The keyring secret holds wrapped keys only; without the KMS key it cannot be read.
    unwrapped = SecretsManagerTokenStore(prefix=prefix, keyring_secret=ring, recovery_window_days=0)
    try:
        unwrapped.find_token_by_id(token.get_id())
        raise AssertionError("a KMS-wrapped keyring was read without its KMS key")
    except SDKException as e:
        assert e.kind == "KeySource", e
        # The fix names the Python argument that is missing, with the key it needs.
        assert f"kms_key_id='{key}'" in str(e) and "::" not in str(e), e

    # Configured by the environment alone, as the operator tool and a Lambda function are: no code.
    monkeypatch.delenv("ZOHO_TOKEN_STORE_KEYS", raising=False)
    monkeypatch.setenv("ZOHO_TOKEN_STORE_KEYRING_SECRET", ring)
    monkeypatch.setenv("ZOHO_TOKEN_STORE_KMS_KEY_ID", key)
    from_env = SecretsManagerTokenStore(prefix=prefix, recovery_window_days=0)
    assert from_env.find_token_by_id(token.get_id()).get_refresh_token() == token.get_refresh_token()
    # But only whole: a keyring secret given as an argument takes no KMS key from the environment
    # (which may describe another keyring), so without kms_key_id= it still cannot be read.
    given = SecretsManagerTokenStore(prefix=prefix, keyring_secret=ring, recovery_window_days=0)
    try:
        given.find_token_by_id(token.get_id())
        raise AssertionError("the environment's KMS key was applied to a keyring secret given as an argument")
    except SDKException as e:
        assert e.kind == "KeySource", e
