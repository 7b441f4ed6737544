"""The package itself: version, typing, the SDK's base class, and life without the SDK."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import zoho_token_store
from zohocrmsdk.src.com.zoho.api.authenticator.store.token_store import TokenStore
from zohocrmsdk.src.com.zoho.crm.api.exception.sdk_exception import SDKException

ROOT = Path(__file__).resolve().parents[2]


def test_the_version_is_the_crates():
    cargo = (ROOT / "Cargo.toml").read_text()
    crate = re.search(r'^version = "([^"]+)"', cargo, re.M).group(1)
    binding = re.search(r'^version = "([^"]+)"', (ROOT / "python" / "Cargo.toml").read_text(), re.M).group(1)
    assert zoho_token_store.__version__ == crate == binding
    # What pip installed: the distribution `zoho-token-store`, at that version.
    from importlib.metadata import version

    assert version("zoho-token-store") == crate


def test_it_is_typed_and_one_of_the_sdks_token_stores():
    package = Path(zoho_token_store.__file__).parent
    assert (package / "py.typed").exists()
    assert (package / "_native.pyi").exists()
    assert zoho_token_store.HAS_SDK
    # The installed package (not the source tree), built against the stable ABI for CPython 3.9+.
    assert zoho_token_store._native.__file__.endswith(".abi3.so")
    assert issubclass(zoho_token_store.SecretsManagerTokenStore, TokenStore)
    assert issubclass(zoho_token_store.TokenStoreError, SDKException)
    assert zoho_token_store.OAuthToken.__module__.startswith("zohocrmsdk.")


def test_without_the_sdk_the_store_works_with_its_own_token_type(endpoint, keys, prefix, tmp_path):
    # A fresh interpreter in which `zohocrmsdk` cannot be imported.
    script = f"""
import sys
sys.modules["zohocrmsdk"] = None
import zoho_token_store as z
assert not z.HAS_SDK and z.OAuthToken.__module__ == "zoho_token_store._standalone"
store = z.SecretsManagerTokenStore(prefix={prefix!r}, keys={keys!r}, recovery_window_days=0)
token = z.OAuthToken(client_id="c", client_secret="s", refresh_token="r-standalone",
                     user_signature=z.UserSignature("sam@example.com"))
store.save_token(token)
found = store.find_token(z.OAuthToken(user_signature=z.UserSignature("sam@example.com")))
assert found.get_refresh_token() == "r-standalone" and found.get_id() == token.get_id()
[listed] = store.get_tokens()
assert isinstance(listed, z.OAuthToken) and listed.get_user_signature().get_name() == "sam@example.com"
try:
    store.find_token_by_id("absent")
    raise SystemExit("no error for an absent id")
except z.SDKException as e:
    assert e.code == "TOKEN_STORE" and e.kind == "NotFound", e
print("standalone ok")
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=dict(os.environ),
                          cwd=tmp_path)  # not the source tree, which would shadow the installed package
    assert done.returncode == 0, done.stderr
    assert "standalone ok" in done.stdout


def test_initializer_takes_the_store(make_store):
    from zohocrmsdk.src.com.zoho.api.authenticator.oauth_token import OAuthToken
    from zohocrmsdk.src.com.zoho.crm.api.dc.data_center import DataCenter
    from zohocrmsdk.src.com.zoho.crm.api.initializer import Initializer

    store = make_store()
    # An access token with no expiry and no id is saved as given; no network call is made.
    token = OAuthToken(access_token="access-only", find_user=False)
    env = DataCenter.Environment("http://127.0.0.1:9", "http://127.0.0.1:9/oauth/v2/token", "http://127.0.0.1:9")
    Initializer.initialize(environment=env, token=token, store=store)
    assert Initializer.get_initializer().store is store
    assert token.get_id() is not None
    assert store.find_token_by_id(token.get_id()).get_access_token() == "access-only"


def test_type_checkers_see_the_packages_types(tmp_path):
    # py.typed and the stubs reach a type checker: a wrong argument type is an error, the package
    # itself checks under --strict.
    use = tmp_path / "use.py"
    use.write_text(
        "from zoho_token_store import SecretsManagerTokenStore\n"
        "store = SecretsManagerTokenStore(prefix=1)\n"
        "reveal_type(store.prefix)\n"
    )
    mypy = [sys.executable, "-m", "mypy", "--strict", "--no-incremental"]
    checked = subprocess.run(mypy + [str(use)], capture_output=True, text=True, cwd=tmp_path)
    assert 'Argument "prefix" to "SecretsManagerTokenStore" has incompatible type "int"' in checked.stdout
    assert 'Revealed type is "builtins.str"' in checked.stdout or 'Revealed type is "str"' in checked.stdout
    package = subprocess.run(mypy + ["-p", "zoho_token_store"], capture_output=True, text=True, cwd=tmp_path)
    assert package.returncode == 0, package.stdout
