"""The Python binding's benchmark; prints the Markdown tables BENCHMARKS.md records.

1. The binding's overhead: each store operation from Python against the same operation from Rust
   (`benches/binding.rs`), on the same secrets in LocalStack, in alternating rounds.
2. `find_token` and `find_token_by_id` at N = 1,000 tokens: this store (uncached and with its read
   cache) against the SDK's FileStore, which reads its whole file on every call (and the SDK reads the
   store before every API request).

Run: `python/run-bench` (installs the package, starts LocalStack unless AWS_ENDPOINT_URL is set).
"""

from __future__ import annotations

import base64
import csv
import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable, Dict, List

from zohocrmsdk.src.com.zoho.api.authenticator.oauth_token import OAuthToken
from zohocrmsdk.src.com.zoho.api.authenticator.store.file_store import FileStore
from zohocrmsdk.src.com.zoho.crm.api.user_signature import UserSignature

from zoho_token_store import SecretsManagerTokenStore

ROOT = Path(__file__).resolve().parents[2]
ROUNDS = 10
ITERATIONS = 40  # per operation per round
CLIENT = "1000.BENCHCLIENT"


def new_keys() -> str:
    def key() -> str:
        return base64.b64encode(secrets.token_bytes(32)).decode()

    return f"index={key()},k1={key()}"


def token(n: int) -> OAuthToken:
    t = OAuthToken(client_id=CLIENT, client_secret=f"secret-{n}", refresh_token=f"refresh-{n}",
                   access_token=f"access-{n}", user_signature=UserSignature(f"user{n}@example.com:1"),
                   redirect_url="https://app.example.com/cb", api_domain="https://www.zohoapis.com")
    t.set_expires_in("1900000000000")
    return t


def seed(store: SecretsManagerTokenStore, n: int) -> List[str]:
    ids = []
    for i in range(n):
        t = token(i)
        store.save_token(t)
        ids.append(t.get_id())
    return ids


def timed(samples: Dict[str, List[float]], op: str, call: Callable[[], object]) -> None:
    started = time.perf_counter()
    call()
    samples.setdefault(op, []).append((time.perf_counter() - started) * 1e6)


def python_round(store: SecretsManagerTokenStore, cached: SecretsManagerTokenStore, token_id: str,
                 samples: Dict[str, List[float]]) -> None:
    for n in range(ITERATIONS):
        timed(samples, "find_token_by_id", lambda: store.find_token_by_id(token_id))
        timed(samples, "find_token by user",
              lambda: store.find_token(OAuthToken(user_signature=UserSignature("user0@example.com:1"))))
        timed(samples, "find_token by refresh token",
              lambda: store.find_token(OAuthToken(client_id=CLIENT, client_secret="-", refresh_token="refresh-0")))
        update = OAuthToken(id=token_id, access_token=f"access-py-{n}")
        update.set_expires_in("1900000000000")
        timed(samples, "save_token (existing)", lambda: store.save_token(update))
        timed(samples, "get_tokens", store.get_tokens)
        timed(samples, "find_token_by_id, cache warm", lambda: cached.find_token_by_id(token_id))
        timed(samples, "find_token by user, cache warm",
              lambda: cached.find_token(OAuthToken(user_signature=UserSignature("user0@example.com:1"))))


def rust_round(env: Dict[str, str], samples: Dict[str, List[float]], sweep: bool) -> None:
    done = subprocess.run(
        ["cargo", "bench", "--quiet", "--bench", "binding"], cwd=ROOT, capture_output=True, text=True,
        env=dict(env, BENCH_SWEEP="1" if sweep else "0"),
    )
    if done.returncode != 0:
        sys.exit(f"cargo bench --bench binding failed:\n{done.stderr}")
    for op, values in json.loads(done.stdout.strip().splitlines()[-1]).items():
        samples.setdefault(op, []).extend(values)


def p99(values: List[float]) -> float:
    return sorted(values)[min(len(values) - 1, int(len(values) * 0.99))]


def overhead(endpoint: str) -> None:
    keys, prefix = new_keys(), f"zts-bench/binding/{time.time_ns():x}/"
    store = SecretsManagerTokenStore(prefix=prefix, keys=keys, endpoint_url=endpoint, recovery_window_days=0)
    ids = seed(store, 10)
    env = dict(os.environ, AWS_ENDPOINT_URL=endpoint, ZOHO_TOKEN_STORE_PREFIX=prefix, ZOHO_TOKEN_STORE_KEYS=keys,
               BENCH_ID=ids[0], BENCH_USER="user0@example.com:1", BENCH_CLIENT_ID=CLIENT, BENCH_REFRESH="refresh-0",
               BENCH_ITERATIONS=str(ITERATIONS))
    rust: Dict[str, List[float]] = {}
    py: Dict[str, List[float]] = {}
    cached = SecretsManagerTokenStore(prefix=prefix, keys=keys, endpoint_url=endpoint, recovery_window_days=0,
                                      cache_ttl_seconds=300)
    rust_round(env, {}, sweep=True)  # warm-up, and the steady state: no lookup bridges left
    python_round(store, cached, ids[0], {})
    for _ in range(ROUNDS):
        rust_round(env, rust, sweep=False)
        python_round(store, cached, ids[0], py)
    print("| operation (N = 10) | Rust median ms | Python median ms | overhead | overhead ms | Rust p99 ms "
          "| Python p99 ms |")
    print("|---|---|---|---|---|---|---|")
    for op in ["find_token_by_id", "find_token by user", "find_token by refresh token", "save_token (existing)",
               "get_tokens", "find_token_by_id, cache warm", "find_token by user, cache warm"]:
        r, p = statistics.median(rust[op]) / 1000, statistics.median(py[op]) / 1000
        print(f"| {op} | {r:.3f} | {p:.3f} | {100 * (p - r) / r:+.1f}% | {p - r:+.3f} | "
              f"{p99(rust[op]) / 1000:.2f} | {p99(py[op]) / 1000:.2f} |")
    store.delete_tokens()


def file_store_comparison(endpoint: str, n: int = 1000) -> None:
    keys, prefix = new_keys(), f"zts-bench/filestore/{time.time_ns():x}/"
    ours = SecretsManagerTokenStore(prefix=prefix, keys=keys, endpoint_url=endpoint, recovery_window_days=0)
    cached = SecretsManagerTokenStore(prefix=prefix, keys=keys, endpoint_url=endpoint, recovery_window_days=0,
                                      cache_ttl_seconds=300)
    print(f"seeding {n} tokens", file=sys.stderr)
    ids = seed(ours, n)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "sdk_tokens.txt")
        file_store = FileStore(path)  # writes the header; rows as the SDK writes them
        with open(path, "a", newline="") as f:
            writer = csv.writer(f)
            for i in range(n):
                # id, user_name, client_id, client_secret, refresh_token, access_token, grant_token,
                # expiry_time, redirect_url, api_domain: the SDK's column order.
                writer.writerow([str(i + 1), f"user{i}@example.com:1", CLIENT, f"secret-{i}", f"refresh-{i}",
                                 f"access-{i}", "", "1900000000000", "https://app.example.com/cb",
                                 "https://www.zohoapis.com"])
        stores = {
            "FileStore (local file)": (file_store, lambda i: str(i + 1)),
            "ours, uncached": (ours, ids.__getitem__),
            "ours, read cache warm": (cached, ids.__getitem__),
        }
        print(f"| store (N = {n:,}) | find_token by user median ms | p99 ms | find_token_by_id median ms | p99 ms |")
        print("|---|---|---|---|---|")
        for name, (store, id_of) in stores.items():
            by_user: Dict[str, List[float]] = {}
            for _ in range(2):  # the first round warms the cache (and the OS page cache)
                by_user = {}
                for k in range(100):
                    i = (k * 37) % n
                    timed(by_user, "user",
                          lambda: store.find_token(OAuthToken(user_signature=UserSignature(f"user{i}@example.com:1"))))
                    timed(by_user, "id", lambda: store.find_token_by_id(id_of(i)))
            print(f"| {name} | {statistics.median(by_user['user']) / 1000:.2f} | {p99(by_user['user']) / 1000:.2f} | "
                  f"{statistics.median(by_user['id']) / 1000:.2f} | {p99(by_user['id']) / 1000:.2f} |")
        # FileStore reads its whole file on every call, so its cost grows with N; ours does not.
        with open(path, "a", newline="") as f:
            writer = csv.writer(f)
            for i in range(n, 10 * n):
                writer.writerow([str(i + 1), f"user{i}@example.com:1", CLIENT, f"secret-{i}", f"refresh-{i}",
                                 f"access-{i}", "", "1900000000000", "https://app.example.com/cb",
                                 "https://www.zohoapis.com"])
        samples: Dict[str, List[float]] = {}
        for k in range(100):
            i = (k * 373) % (10 * n)
            timed(samples, "user",
                  lambda: file_store.find_token(OAuthToken(user_signature=UserSignature(f"user{i}@example.com:1"))))
            timed(samples, "id", lambda: file_store.find_token_by_id(str(i + 1)))
        print(f"| FileStore (local file), N = {10 * n:,} | {statistics.median(samples['user']) / 1000:.2f} | "
              f"{p99(samples['user']) / 1000:.2f} | {statistics.median(samples['id']) / 1000:.2f} | "
              f"{p99(samples['id']) / 1000:.2f} |")
    ours.delete_tokens()


def main() -> None:
    endpoint = os.environ.get("AWS_ENDPOINT_URL")
    if not endpoint:
        subprocess.run([str(ROOT / "localstack" / "up")], check=True)
        endpoint = f"http://127.0.0.1:{os.environ.get('LOCALSTACK_PORT', '4566')}"
    os.environ.setdefault("AWS_REGION", "us-east-1")
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "test")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "test")
    overhead(endpoint)
    print()
    file_store_comparison(endpoint)


if __name__ == "__main__":
    main()
