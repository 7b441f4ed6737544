"""Random sequences of the six operations against the SDK's own FileStore and ours, comparing every
result, every raised error and every field; ids are compared through the mapping each store assigns
(FileStore numbers rows, ours derives ids from the user under the index key).

The tokens are the SDK's `OAuthToken`s, built with its constructor, as an app builds them: a sign-in
with fresh credentials (a grant, refresh or access token issued once, for one client), or an update of a
stored token by id or by user. Queries reuse every value issued so far, and ids that were never issued.
"""

from __future__ import annotations

import copy
import itertools
import time
from typing import Any, Dict, List, Optional, Tuple

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from zohocrmsdk.src.com.zoho.api.authenticator.oauth_token import OAuthToken
from zohocrmsdk.src.com.zoho.api.authenticator.store.file_store import FileStore
from zohocrmsdk.src.com.zoho.crm.api.exception.sdk_exception import SDKException
from zohocrmsdk.src.com.zoho.crm.api.user_signature import UserSignature

from zoho_token_store import SecretsManagerTokenStore

FIELDS = ("client_id", "client_secret", "grant_token", "refresh_token", "access_token", "expires_in",
          "redirect_url", "api_domain")
USERS = ["alice@example.com:7001", "bob@example.com:7001", "carol@example.com:7002"]
CLIENTS = [("1000.C1", "secret-1"), ("1000.C2", "secret-2")]

# FileStore's messages, and the kind our store gives the same failure.
KIND_OF = {
    "Exception in FileStore : Given Id not found": "NotFound",  # delete_token
    "Exception in getTokenById - FileStore : Given ID is invalid": "NotFound",  # find_token_by_id
    "Exception in FileStore : Given user authentication details not found.": "InvalidToken",  # save_token
}

# One operation: a tag and the choices it needs (indexes are taken modulo what exists when it runs).
idx = st.integers(min_value=0, max_value=50)
maybe_user = st.one_of(st.none(), st.sampled_from(USERS))
OPS = st.one_of(
    st.tuples(st.just("sign_in"), maybe_user, idx, st.sampled_from(["grant", "refresh", "access", "grant+refresh"]),
              st.booleans()),
    st.tuples(st.just("update_by_id"), idx, st.booleans(), st.booleans()),
    st.tuples(st.just("update_by_user"), idx, st.booleans()),
    st.tuples(st.just("find"), st.sampled_from(["user", "access", "grant", "refresh", "unknown_refresh",
                                                "client_only_access", "nothing"]), idx),
    st.tuples(st.just("find_by_id"), idx, st.booleans()),
    st.tuples(st.just("delete"), idx, st.booleans()),
    st.tuples(st.just("get_tokens")),
    st.tuples(st.just("delete_tokens")),
)


def fields(token: Any) -> Dict[str, Optional[str]]:
    out = {f: getattr(token, "get_" + f)() for f in FIELDS}
    sig = token.get_user_signature()
    out["user"] = sig.get_name() if sig is not None else None
    return out


class Ids:
    """The bijection between FileStore's ids and ours, learned as ids appear."""

    def __init__(self) -> None:
        self.ours: Dict[str, str] = {}
        self.theirs: Dict[str, str] = {}

    def same(self, file_id: Optional[str], our_id: Optional[str]) -> None:
        assert (file_id is None) == (our_id is None), (file_id, our_id)
        if file_id is None:
            return
        assert self.ours.setdefault(file_id, our_id) == our_id, f"FileStore id {file_id} maps to two of ours"
        assert self.theirs.setdefault(our_id, file_id) == file_id, f"our id {our_id} maps to two FileStore ids"

    def pairs(self) -> List[Tuple[str, str]]:
        return list(self.ours.items())

    def forget(self, file_id: str, our_id: str) -> None:
        """A deleted token's ids are free again: FileStore numbers its next row max + 1, and ours derives
        a user's id again from the user."""
        self.ours.pop(file_id, None)
        self.theirs.pop(our_id, None)

    def clear(self) -> None:
        self.ours.clear()
        self.theirs.clear()


class Run:
    def __init__(self, ours: SecretsManagerTokenStore, theirs: FileStore) -> None:
        self.ours, self.theirs, self.ids = ours, theirs, Ids()
        self.counter = itertools.count(1)
        self.errors = 0
        self.last_ok = True
        self.issued: Dict[str, List[Tuple[str, str]]] = {"grant": [], "refresh": [], "access": []}

    def fresh(self, kind: str, client: str) -> str:
        value = f"{kind}-{next(self.counter)}-{client}"
        self.issued[kind].append((value, client))
        return value

    def both(self, op: str, make: Any, call: Any) -> Tuple[Any, Any, Any, Any]:
        """Runs `call(store, make())` on both stores; the same outcome class, or the test fails."""
        results, errors, args = [], [], []
        for store in (self.theirs, self.ours):
            arg = make()
            args.append(arg)
            try:
                results.append(call(store, arg))
                errors.append(None)
            except SDKException as e:
                results.append(None)
                errors.append(e)
        assert (errors[0] is None) == (errors[1] is None), f"{op}: FileStore {errors[0]!r} vs ours {errors[1]!r}"
        self.errors += errors[0] is not None
        self.last_ok = errors[0] is None
        if errors[0] is not None:
            assert errors[0].code == errors[1].code == "TOKEN_STORE", (errors[0].code, errors[1].code)
            assert errors[1].kind == KIND_OF[errors[0].error_message], (op, errors[0], errors[1])
        return results[0], results[1], args[0], args[1]

    def same_token(self, op: str, file_token: Any, our_token: Any) -> None:
        assert (file_token is None) == (our_token is None), f"{op}: {file_token} vs {our_token}"
        if file_token is None:
            return
        self.ids.same(file_token.get_id(), our_token.get_id())
        assert fields(file_token) == fields(our_token), op

    def update_absent(self, make: Any) -> None:
        """A save by an id neither store holds: where FileStore appends a row under it, ours refuses
        (deletes stick: a token carrying an id updates the token found under it, and one deleted since
        is not brought back). FileStore's row is removed again, so the two stores stay the same."""
        file_token, our_token = make(), make()
        try:
            self.theirs.save_token(file_token)
            file_error = None
        except SDKException as e:
            file_error = e
        with pytest.raises(SDKException) as ours:
            self.ours.save_token(our_token)
        self.last_ok = False
        if file_error is None:
            assert ours.value.kind == "TokenDeleted", ours.value
            self.theirs.delete_token(file_token.get_id())
        else:
            self.errors += 1
            assert ours.value.kind == KIND_OF[file_error.error_message], (ours.value, file_error)

    def stored_ids(self) -> List[Tuple[str, str]]:
        return self.ids.pairs()

    def pick(self, n: int, absent: bool) -> Tuple[str, str]:
        pairs = self.stored_ids()
        if absent or not pairs:
            # An id neither store has given: FileStore numbers new rows max + 1, so absent ids are
            # far apart, and one stored here cannot lead FileStore to number a row with the next.
            k = next(self.counter)
            return (str(k * 10**9), f"uabsent{k}")
        return pairs[n % len(pairs)]

    def step(self, op: Tuple[Any, ...]) -> None:
        kind = op[0]
        if kind == "sign_in":
            _, user, n, creds, with_expiry = op
            client_id, client_secret = CLIENTS[n % len(CLIENTS)]
            grant = self.fresh("grant", client_id) if "grant" in creds else None
            refresh = self.fresh("refresh", client_id) if "refresh" in creds else None
            access = self.fresh("access", client_id) if creds == "access" else None
            expiry = str(1_800_000_000_000 + n) if with_expiry else None

            def make() -> OAuthToken:
                token = OAuthToken(
                    client_id=None if access else client_id,
                    client_secret=None if access else client_secret,
                    grant_token=grant, refresh_token=refresh, access_token=access,
                    redirect_url="https://app.example.com/cb", user_signature=UserSignature(user) if user else None,
                )
                token.set_expires_in(expiry)
                return token

            f, o, ft, ot = self.both(kind, make, lambda s, t: s.save_token(t))
            self.same_token(kind, ft, ot)
        elif kind == "update_by_id":
            _, n, absent, new_access = op
            # pick() gives absent ids also while nothing is stored.
            absent = absent or not self.stored_ids()
            file_id, our_id = self.pick(n, absent)
            access = self.fresh("access", "-") if new_access else None
            ids = iter([file_id, our_id])

            def make() -> OAuthToken:
                token = OAuthToken(id=next(ids), access_token=access)
                token.set_expires_in(str(1_900_000_000_000 + n))
                return token

            if absent:
                self.update_absent(make)
                return
            f, o, ft, ot = self.both(kind, make, lambda s, t: s.save_token(t))
            self.same_token(kind, ft, ot)
        elif kind == "update_by_user":
            _, n, new_access = op
            access = self.fresh("access", "-") if new_access else None

            def make() -> OAuthToken:
                return OAuthToken(user_signature=UserSignature(USERS[n % len(USERS)]), access_token=access)

            f, o, ft, ot = self.both(kind, make, lambda s, t: s.save_token(t))
            self.same_token(kind, ft, ot)
        elif kind == "find":
            _, how, n = op
            make = self.query(how, n)
            f, o, _, _ = self.both(kind, make, lambda s, t: s.find_token(t))
            self.same_token(f"find by {how}", f, o)
        elif kind == "find_by_id":
            _, n, absent = op
            file_id, our_id = self.pick(n, absent)
            ids = iter([file_id, our_id])
            f, o, _, _ = self.both(kind, lambda: next(ids), lambda s, i: s.find_token_by_id(i))
            self.same_token(kind, f, o)
        elif kind == "delete":
            _, n, absent = op
            file_id, our_id = self.pick(n, absent)
            ids = iter([file_id, our_id])
            f, _, _, _ = self.both(kind, lambda: next(ids), lambda s, i: s.delete_token(i))
            self.ids.forget(file_id, our_id)
        elif kind == "get_tokens":
            f, o, _, _ = self.both(kind, lambda: None, lambda s, _: s.get_tokens())
            assert len(f) == len(o), (len(f), len(o))
            ours_by_id = {t.get_id(): t for t in o}
            for token in f:
                our_id = self.ids.ours.get(token.get_id())
                assert our_id in ours_by_id, f"FileStore's {token.get_id()} has no counterpart"
                self.same_token(kind, token, ours_by_id[our_id])
        elif kind == "delete_tokens":
            self.both(kind, lambda: None, lambda s, _: s.delete_tokens())
            self.ids.clear()

    def query(self, how: str, n: int) -> Any:
        def issued(kind: str) -> Tuple[str, str]:
            values = self.issued[kind]
            return values[n % len(values)] if values else (f"{kind}-never-issued", CLIENTS[0][0])

        def make() -> OAuthToken:
            if how == "user":
                return OAuthToken(user_signature=UserSignature(USERS[n % len(USERS)]))
            if how == "access":
                return OAuthToken(access_token=issued("access")[0])
            if how == "grant":
                value, client = issued("grant")
                return OAuthToken(client_id=client, client_secret="any", grant_token=value)
            if how == "refresh":
                value, client = issued("refresh")
                return OAuthToken(client_id=client, client_secret="any", refresh_token=value)
            if how == "unknown_refresh":
                value, client = issued("refresh")
                return OAuthToken(client_id=client, client_secret="any", refresh_token=value + "-unknown")
            if how == "client_only_access":
                # An access token with client credentials matches nothing in either store.
                return OAuthToken(client_id=CLIENTS[0][0], client_secret="s", access_token=issued("access")[0],
                                  id="1")
            return OAuthToken(id="1")  # an id alone is not something find_token matches on

        return make


@given(ops=st.lists(OPS, min_size=1, max_size=14))
# Found by hypothesis once: a refused save by an absent id must not pair the two ids, and FileStore's
# next row number must not meet an absent id.
@example(ops=[("update_by_id", 0, False, True), ("update_by_id", 0, True, False),
              ("sign_in", None, 0, "grant", False), ("sign_in", None, 0, "grant", False)])
def test_random_operation_sequences_match_the_sdks_file_store(ops, tmp_path_factory, endpoint, keys, prefix):
    path = tmp_path_factory.mktemp("filestore") / "tokens.csv"
    theirs = FileStore(str(path))
    ours = SecretsManagerTokenStore(prefix=f"{prefix}{time.time_ns():x}/", keys=keys, recovery_window_days=0)
    run = Run(ours, theirs)
    for op in ops:
        run.step(op)
    # And the final states agree.
    run.step(("get_tokens",))


def test_the_sdk_flows_operations_in_order_match_too(tmp_path, endpoint, keys, prefix):
    """A fixed sequence that touches every operation and error, so a regression shows without luck."""
    theirs = FileStore(str(tmp_path / "tokens.csv"))
    ours = SecretsManagerTokenStore(prefix=prefix, keys=keys, recovery_window_days=0)
    run = Run(ours, theirs)
    for op in [
        ("sign_in", USERS[0], 0, "grant", True),
        ("sign_in", None, 1, "refresh", False),
        ("sign_in", None, 0, "access", False),
        ("sign_in", USERS[1], 1, "grant+refresh", True),
        ("find", "user", 0), ("find", "grant", 0), ("find", "refresh", 0), ("find", "access", 0),
        ("find", "unknown_refresh", 0), ("find", "client_only_access", 0), ("find", "nothing", 0),
        ("update_by_user", 0, True), ("update_by_user", 2, False), ("update_by_user", 2, True),
        ("update_by_id", 1, False, True), ("update_by_id", 0, True, False), ("update_by_id", 0, True, True),
        ("find_by_id", 0, False), ("find_by_id", 0, True),
        ("delete", 1, False), ("delete", 1, True), ("get_tokens",),
    ]:
        run.step(op)
    assert len(run.ids.pairs()) >= 4, "the sequence stored tokens in both"
    assert run.errors >= 4, "and met the errors of both (absent ids, nothing to authenticate with)"
    for op in [("delete_tokens",), ("get_tokens",), ("find_by_id", 0, False), ("delete", 0, False)]:
        run.step(op)
    assert ours.get_tokens() == [] and theirs.get_tokens() == []
