"""Shared fixtures: LocalStack (started through the project's `localstack/up`, never skipped), a fresh
keyring and prefix per test, the Rust CLI, and a local mock of Zoho's accounts and CRM APIs."""

from __future__ import annotations

import base64
import os
import secrets
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable, Iterator

import pytest
from hypothesis import HealthCheck, settings

# 60 random sequences on every run; `HYPOTHESIS_PROFILE=thorough python/run-tests` tries 600.
settings.register_profile(
    "default", max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
settings.register_profile(
    "thorough", max_examples=600, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

from zoho_mock import ZohoMock

ROOT = Path(__file__).resolve().parents[2]


def new_keys() -> str:
    """A fresh keyring in the text format `zoho-token-store keygen` prints."""

    def key() -> str:
        return base64.b64encode(secrets.token_bytes(32)).decode()

    return f"index={key()},k1={key()}"


@pytest.fixture(scope="session")
def endpoint() -> str:
    """LocalStack's URL: `AWS_ENDPOINT_URL` when set, else the one `localstack/up` starts (idempotent;
    shared with the Rust tests). If it cannot start, every test fails with the reason."""
    url = os.environ.get("AWS_ENDPOINT_URL")
    if not url:
        up = subprocess.run([str(ROOT / "localstack" / "up")], capture_output=True, text=True)
        if up.returncode != 0:
            pytest.fail(
                f"localstack/up failed ({up.returncode}); LocalStack is required:\n{up.stdout}\n{up.stderr}",
                pytrace=False,
            )
        url = f"http://127.0.0.1:{os.environ.get('LOCALSTACK_PORT', '4566')}"
    # For this process, its children and forks: the standard chain, as a deployed app would have it.
    os.environ.update(
        AWS_ENDPOINT_URL=url,
        AWS_REGION="us-east-1",
        AWS_ACCESS_KEY_ID="test",
        AWS_SECRET_ACCESS_KEY="test",
        # LocalStack's listings now and then answer a 500 under parallel load; the SDK retries it.
        AWS_MAX_ATTEMPTS="6",
    )
    return url


@pytest.fixture
def keys() -> str:
    return new_keys()


@pytest.fixture
def prefix(request: pytest.FixtureRequest) -> str:
    """A prefix no other test (nor any run) uses."""
    name = request.node.name.split("[")[0]
    return f"zts-py/{name}/{time.time_ns():x}{os.getpid() & 0xFFFF:04x}/"


@pytest.fixture
def make_store(endpoint: str, keys: str, prefix: str) -> Callable[..., object]:
    from zoho_token_store import SecretsManagerTokenStore

    def make(**options: object) -> SecretsManagerTokenStore:
        options.setdefault("prefix", prefix)
        options.setdefault("keys", keys)
        options.setdefault("recovery_window_days", 0)
        # A test reads back at once what other processes (or its other stores) wrote: no read cache unless
        # the test asks for one. Processes a test starts use the package's defaults, cache included.
        options.setdefault("cache_ttl_seconds", 0)
        return SecretsManagerTokenStore(**options)

    return make


@pytest.fixture(scope="session")
def cli() -> Path:
    """The command-line tool: the Rust binary `cargo test` built (ZOHO_TOKEN_STORE_CLI), else the
    package's own `zoho-token-store` command (the same code, through the native module; no Rust needed)."""
    given = os.environ.get("ZOHO_TOKEN_STORE_CLI")
    if given:
        return Path(given)
    installed = Path(sys.executable).parent / "zoho-token-store"
    if not installed.exists():
        pytest.fail(f"the package's zoho-token-store command is missing beside {sys.executable}", pytrace=False)
    return installed


@pytest.fixture
def run_cli(cli: Path, endpoint: str, keys: str, prefix: str) -> Callable[..., subprocess.CompletedProcess]:
    def run(*args: str, check: bool = True) -> subprocess.CompletedProcess:
        env = dict(os.environ, ZOHO_TOKEN_STORE_PREFIX=prefix, ZOHO_TOKEN_STORE_KEYS=keys)
        env.pop("ZOHO_TOKEN_STORE_KEYRING_SECRET", None)
        done = subprocess.run([str(cli), *args], env=env, capture_output=True, text=True)
        if check and done.returncode != 0:
            raise AssertionError(f"zoho-token-store {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
        return done

    return run


@pytest.fixture
def zoho() -> Iterator[ZohoMock]:
    with ZohoMock() as mock:
        yield mock


@pytest.fixture
def throttling_aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[bool], str]]:
    """Starts `aws_mock.py` (every call throttled; optionally held until released) and returns its URL.
    The SDK's own retries are off for stores built while it runs, so one call is one answer."""
    procs: list = []

    def start(hold: bool = False) -> str:
        args = [sys.executable, str(Path(__file__).with_name("aws_mock.py"))] + (["--hold"] if hold else [])
        proc = subprocess.Popen(args, stdout=subprocess.PIPE, text=True)
        procs.append(proc)
        port = proc.stdout.readline().strip()
        assert port.isdigit(), f"aws_mock did not start: {port!r}"
        return f"http://127.0.0.1:{port}"

    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    yield start
    for proc in procs:
        proc.kill()
        proc.wait()
