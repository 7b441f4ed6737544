"""Threads and processes: one store shared by 16 threads, used after fork, with the GIL released during
every call and the caller's asyncio loop left alone."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest
from zohocrmsdk.src.com.zoho.api.authenticator.oauth_token import OAuthToken
from zohocrmsdk.src.com.zoho.crm.api.exception.sdk_exception import SDKException
from zohocrmsdk.src.com.zoho.crm.api.user_signature import UserSignature

USERS = [f"user{n}@example.com:1" for n in range(4)]


def token(user: str, tag: str) -> OAuthToken:
    t = OAuthToken(client_id="1000.CLIENT", client_secret="cs", refresh_token=f"refresh-{tag}",
                   access_token=f"access-{tag}", user_signature=UserSignature(user))
    t.set_expires_in("1767225600000")
    return t


def test_sixteen_threads_saving_and_finding_at_once_share_one_store(make_store):
    store = make_store()
    barrier = threading.Barrier(16)

    def work(n: int) -> tuple:
        user = USERS[n % len(USERS)]
        barrier.wait()
        mine = token(user, f"t{n}")
        store.save_token(mine)
        found = store.find_token(OAuthToken(user_signature=UserSignature(user)))
        by_id = store.find_token_by_id(mine.get_id())
        return user, mine.get_id(), found.get_refresh_token(), by_id.get_user_signature().get_name()

    with ThreadPoolExecutor(16) as pool:
        results = list(pool.map(work, range(16)))

    stored = store.get_tokens()
    assert len(stored) == len(USERS), "one token per user, never a duplicate"
    ids = {t.get_user_signature().get_name(): t.get_id() for t in stored}
    for user, saved_id, refresh, by_id_user in results:
        assert saved_id == ids[user], "every save of a user landed on the user's one token"
        assert refresh.startswith("refresh-t"), "a whole token was read, never a torn one"
        assert by_id_user == user
    for t in stored:
        tags = {f"refresh-t{n}" for n in range(16) if USERS[n % len(USERS)] == t.get_user_signature().get_name()}
        assert t.get_refresh_token() in tags, "the last write is one of that user's own"


# Python 3.12+ warns that forking a process with threads (the runtime's) may deadlock the child: the
# child never uses the parent's runtime or AWS client (it makes its own), which is what this tests.
@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded, use of fork:DeprecationWarning")
def test_a_forked_child_uses_the_parents_store_and_the_parent_goes_on(make_store):
    store = make_store()
    store.save_token(token(USERS[0], "parent"))  # the runtime and its connections now exist
    pids = []
    for n in range(2):
        pid = os.fork()
        if pid == 0:  # the child: as a gunicorn worker forked from a preloading master
            signal.alarm(60)  # a child stuck on the parent's runtime dies instead of hanging the test
            code = 1
            try:
                store.save_token(token(USERS[n + 1], f"child{n}"))
                found = store.find_token(OAuthToken(user_signature=UserSignature(USERS[0])))
                code = 0 if found.get_refresh_token() == "refresh-parent" else 2
            finally:
                os._exit(code)
        pids.append(pid)
    for pid in pids:
        _, status = os.waitpid(pid, 0)
        assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, f"child status {status}"
    names = sorted(t.get_user_signature().get_name() for t in store.get_tokens())
    assert names == USERS[:3], "both children's saves landed, and the parent's store still works"


@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded, use of fork:DeprecationWarning")
def test_a_fork_while_a_call_is_in_flight_leaves_the_child_its_own_working_store(make_store, throttling_aws):
    """gunicorn forking while another thread of the master waits on AWS: the child must neither wait on
    what the parent's thread holds nor touch the parent's connections, and the parent's call completes."""
    url = throttling_aws(hold=True)
    store = make_store(endpoint_url=url)
    caller, outcome = call_in_thread(store.find_token_by_id, "held1")
    wait_until_arrived(url)
    pid = os.fork()
    if pid == 0:  # the parent's call is in flight in a thread this child does not have
        signal.alarm(60)  # a child stuck on something the parent held dies instead of hanging the test
        code = 1
        try:
            store.find_token_by_id("child1")
        except SDKException as e:
            code = 0 if "Rate exceeded (released)" in str(e) else 2  # its own call, answered
        finally:
            os._exit(code)
    urllib.request.urlopen(url + "/release").read()
    caller.join()
    _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, f"child status {status}"
    assert "(released)" in outcome["error"], outcome


@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded, use of fork:DeprecationWarning")
def test_a_fork_while_another_thread_builds_its_store_leaves_the_child_no_lock_to_wait_on(
        throttling_aws, keys, prefix, endpoint, monkeypatch, tmp_path):
    """A worker (forked from the process that made the store) builds its own store on first use, in a
    thread, and forks again while that build waits on the network. The grandchild must build its own, not
    wait on a lock held by a thread it does not have (what a lock taken across the build would do)."""
    from zoho_token_store import SecretsManagerTokenStore

    url = throttling_aws()
    # No region configured: building a store asks IMDS (this mock, which can hold its answers).
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", url)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    store = SecretsManagerTokenStore(prefix=prefix, keys=keys, endpoint_url=endpoint)
    worker = os.fork()
    if worker == 0:
        code = 1
        try:
            signal.alarm(90)
            urllib.request.urlopen(url + "/hold").read()
            first_use, _ = call_in_thread(store.find_token_by_id, "w1")
            wait_until_arrived(url)  # the build is now waiting on IMDS, in the worker's thread
            grandchild = os.fork()
            if grandchild == 0:
                signal.alarm(30)  # stuck on the worker's lock: killed, and the test fails
                try:
                    store.find_token_by_id("g1")
                except SDKException:
                    pass  # no region, or the mock's throttling: what counts is that it returned
                os._exit(0)
            urllib.request.urlopen(url + "/release").read()
            first_use.join()
            _, status = os.waitpid(grandchild, 0)
            code = 0 if os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0 else 3
        finally:
            os._exit(code)
    _, status = os.waitpid(worker, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, f"worker status {status}"


def call_in_thread(call, *args) -> "tuple[threading.Thread, dict]":
    """Starts `call(*args)` in a thread; the dict gets the message of what it raised, as "error"."""
    outcome: dict = {}

    def run() -> None:
        try:
            call(*args)
        except SDKException as e:
            outcome["error"] = str(e)

    thread = threading.Thread(target=run)
    thread.start()
    return thread, outcome


def wait_until_arrived(url: str) -> None:
    """Until the held mock at `url` has a request; polls, and the outcome does not depend on timing."""
    while not json.load(urllib.request.urlopen(url + "/arrived"))["arrived"]:
        time.sleep(0.005)


def test_every_call_releases_the_gil(make_store, throttling_aws):
    # The endpoint holds its answer until this test's main thread releases it, which it can only do
    # while the calling thread waits without the GIL. Held, the answer says so after 30 s.
    url = throttling_aws(hold=True)
    store = make_store(endpoint_url=url)
    caller, outcome = call_in_thread(store.find_token_by_id, "held1")
    wait_until_arrived(url)
    urllib.request.urlopen(url + "/release").read()
    caller.join()
    assert "(released)" in outcome["error"], outcome


def test_the_callers_asyncio_loop_is_untouched(make_store):
    store = make_store()

    async def main() -> list:
        loop = asyncio.get_running_loop()
        store.save_token(token(USERS[0], "async"))  # a blocking call inside a coroutine works
        assert asyncio.get_running_loop() is loop
        queries = [OAuthToken(user_signature=UserSignature(USERS[0])) for _ in range(8)]
        found = await asyncio.gather(*(asyncio.to_thread(store.find_token, q) for q in queries))
        assert asyncio.get_running_loop() is loop and not loop.is_closed()
        return [f.get_refresh_token() for f in found]

    assert asyncio.run(main()) == ["refresh-async"] * 8
    # And no loop was left set for this thread by the store.
    with pytest.raises(RuntimeError):
        asyncio.get_running_loop()
