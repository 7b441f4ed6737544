"""Unit tests of the strict AWS model's rules, on a fake clock (standard library only).

Run: `python3 -m unittest discover -s localstack -p 'test_strict_aws.py'` (tests/strict_aws.rs does).
The rules of single requests are tested through the proxy in front of an in-memory stand-in for
LocalStack (`FakeLocalStack`), so no test waits on a real clock. The behaviours are shown to bite the
store itself, through the running proxy, in tests/strict_aws.rs.
"""

import random
import re
import threading
import time
import unittest
from typing import Any

from strict_aws import Model, Options, filters, matches, parse
from strict_aws.errors import error_body
from strict_aws.proxy import Proxy

NAME = [{"Key": "name", "Values": ["p/"]}]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def model(**options) -> tuple[Model, Clock]:
    clock = Clock()
    return Model(Options(**options), clock), clock


def names(found) -> list[str]:
    return [f[0] for f in found]


class FakeLocalStack:
    """LocalStack's Secrets Manager as far as the proxy leans on it, in memory: no lag, no quota, and
    LocalStack's own answers where AWS's differ (a CreateSecret retry refused as an existing secret)."""

    def __init__(self) -> None:
        self.secrets: dict[str, dict[str, Any]] = {}
        self.calls: list[str] = []
        self.in_flight = 0
        self.most_in_flight = 0
        self.lock = threading.Lock()
        # Set by a test to hold each PutSecretValue open a moment, so concurrent writers overlap if the
        # proxy lets them.
        self.put_pause = 0.0

    def __call__(self, operation: str, payload: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        with self.lock:
            self.calls.append(operation)
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            if operation == "PutSecretValue" and self.put_pause:
                time.sleep(self.put_pause)
            with self.lock:
                return getattr(self, operation)(payload)
        finally:
            with self.lock:
                self.in_flight -= 1

    def find(self, secret_id: str) -> dict[str, Any]:
        for secret in self.secrets.values():
            if secret_id in (secret["Name"], secret["ARN"]):
                return secret
        return {}

    def add(self, name: str, tags: dict[str, str]) -> dict[str, Any]:
        """A secret made past the proxy (another client of LocalStack)."""
        secret = {"Name": name, "ARN": f"arn:aws:secretsmanager:us-east-1:000000000000:secret:{name}-AbCdEf",
                  "Tags": dict(tags), "values": {}, "deleted": False}
        self.secrets[name] = secret
        return secret

    def CreateSecret(self, p: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if p["Name"] in self.secrets:
            return error_body("ResourceExistsException", f"The operation failed because the secret {p['Name']} already exists.")
        secret = self.add(p["Name"], {t["Key"]: t["Value"] for t in p.get("Tags", [])})
        answer = {"ARN": secret["ARN"], "Name": p["Name"]}
        if "SecretString" in p:
            secret["values"][p["ClientRequestToken"]] = p["SecretString"]
            answer["VersionId"] = p["ClientRequestToken"]
        return 200, answer

    def PutSecretValue(self, p: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        secret = self.find(p["SecretId"])
        secret["values"][p["ClientRequestToken"]] = p["SecretString"]
        return 200, {"ARN": secret["ARN"], "Name": secret["Name"], "VersionId": p["ClientRequestToken"]}

    def GetSecretValue(self, p: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        secret = self.find(p["SecretId"])
        if not secret:
            return error_body("ResourceNotFoundException", "Secrets Manager can't find the specified secret.")
        return 200, {"ARN": secret["ARN"], "Name": secret["Name"], "SecretString": "v"}

    def DescribeSecret(self, p: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        secret = self.find(p["SecretId"])
        if not secret:
            return error_body("ResourceNotFoundException", "Secrets Manager can't find the specified secret.")
        return 200, {"ARN": secret["ARN"], "Name": secret["Name"]}

    def TagResource(self, p: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        self.find(p["SecretId"])["Tags"].update({t["Key"]: t["Value"] for t in p["Tags"]})
        return 200, {}

    def DeleteSecret(self, p: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        secret = self.find(p["SecretId"])
        if p.get("ForceDeleteWithoutRecovery"):
            self.secrets.pop(secret["Name"], None)
        else:
            secret["deleted"] = True
        return 200, {"ARN": secret.get("ARN", ""), "Name": secret.get("Name", "")}

    def ListSecrets(self, p: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        listed = [
            {"ARN": s["ARN"], "Name": s["Name"], "Tags": [{"Key": k, "Value": v} for k, v in s["Tags"].items()]}
            for s in self.secrets.values()
            if not s["deleted"] or p.get("IncludePlannedDeletion")
        ]
        return 200, {"SecretList": listed}

    def BatchGetSecretValue(self, p: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        values, errors = [], []
        for secret_id in p["SecretIdList"]:
            secret = self.find(secret_id)
            if secret and not secret["deleted"]:
                values.append({"ARN": secret["ARN"], "Name": secret["Name"], "SecretString": "v"})
            else:
                errors.append({"SecretId": secret_id, "ErrorCode": "ResourceNotFoundException", "Message": "gone"})
        return 200, {"SecretValues": values, "Errors": errors}


class ProxyOnFake(Proxy):
    """The proxy with `FakeLocalStack` behind it instead of a connection."""

    def __init__(self, m: Model, upstream: FakeLocalStack):
        super().__init__("http://127.0.0.1:9", m)
        self.upstream = upstream

    def call(self, target: str, payload: dict[str, Any], headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
        return self.upstream(target, payload)


def proxy(**options) -> tuple[ProxyOnFake, FakeLocalStack, Clock]:
    m, clock = model(**options)
    upstream = FakeLocalStack()
    return ProxyOnFake(m, upstream), upstream, clock


def ask(p: ProxyOnFake, operation: str, **payload) -> tuple[int, dict[str, Any]]:
    return p.handle(operation, payload, {})


def code(answer: tuple[int, dict[str, Any]]) -> str:
    return "OK" if answer[0] == 200 else answer[1]["__type"]


def token(n: Any) -> str:
    """A ClientRequestToken (32 to 64 characters on AWS)."""
    return f"{n}".rjust(32, "0")


class Filters(unittest.TestCase):
    def test_prefix_match_or_within_and_across_and_negation(self) -> None:
        tags = {"zts:prefix": "p/", "zoho-token-store:refresh": "ab12"}
        self.assertTrue(matches([{"Key": "name", "Values": ["x/", "p/"]}], "p/t1", tags))
        self.assertFalse(matches([{"Key": "name", "Values": ["p/"]}, {"Key": "tag-value", "Values": ["zz"]}], "p/t1", tags))
        self.assertTrue(matches([{"Key": "tag-value", "Values": ["ab"]}], "p/t1", tags))
        self.assertTrue(matches([{"Key": "tag-key", "Values": ["zts:"]}], "p/t1", tags))
        self.assertFalse(matches([{"Key": "name", "Values": ["!p/"]}], "p/t1", tags))
        with self.assertRaises(ValueError):
            matches([{"Key": "description", "Values": ["x"]}], "p/t1", tags)


class Lag(unittest.TestCase):
    def test_a_new_secret_is_missing_until_the_drawn_lag_has_passed(self) -> None:
        m, clock = model(lag=10.0, lag_floor=10.0)
        m.created("p/a", "arn:p/a", {})
        self.assertEqual(names(m.lagged_matches(NAME, False)), [])
        clock.now += 10.0
        self.assertEqual(names(m.lagged_matches(NAME, False)), ["p/a"])

    def test_advancing_the_models_time_lets_the_listing_catch_up(self) -> None:
        m, _ = model(lag=10.0, lag_floor=10.0)
        m.created("p/a", "arn:p/a", {})
        m.advance(9.0)
        self.assertEqual(names(m.lagged_matches(NAME, False)), [])
        m.advance(1.0)
        self.assertEqual(names(m.lagged_matches(NAME, False)), ["p/a"])

    def test_reads_are_not_monotonic(self) -> None:
        # Lags drawn per request: after the secret is 5 s old, some reads see it and later ones do not.
        m, clock = model(lag=10.0, seed=7)
        m.created("p/a", "arn:p/a", {})
        clock.now += 5.0
        seen = [bool(m.lagged_matches(NAME, False)) for _ in range(40)]
        self.assertIn(True, seen)
        self.assertIn(False, seen)
        first_seen = seen.index(True)
        self.assertIn(False, seen[first_seen:], "a later read saw an older state")

    def test_a_deleted_secret_stays_listed_for_the_lag_but_is_not_fetched(self) -> None:
        m, clock = model(lag=10.0, lag_floor=10.0)
        m.created("p/a", "arn:p/a", {})
        clock.now += 20.0
        m.deleted("p/a", forced=False)
        self.assertEqual(names(m.lagged_matches(NAME, False)), ["p/a"])
        self.assertEqual(names(m.lagged_matches(NAME, True)), [], "a by-name fetch finds it gone")
        clock.now += 10.0
        self.assertEqual(names(m.lagged_matches(NAME, False)), [])
        self.assertEqual(names(m.lagged_matches(NAME, False, include_deleted=True)), ["p/a"])

    def test_tag_changes_lag_apart_from_creates(self) -> None:
        m, clock = model(lag=0.0, tag_lag=30.0, tag_lag_floor=30.0)
        m.created("p/a", "arn:p/a", {"k": "old"})
        clock.now += 60.0
        m.retagged("p/a", {"k": "new"}, [])
        by_new = [{"Key": "tag-value", "Values": ["new"]}]
        by_old = [{"Key": "tag-value", "Values": ["old"]}]
        self.assertEqual(names(m.lagged_matches(by_new, False)), [], "the new tag is not listed yet")
        self.assertEqual(names(m.lagged_matches(by_old, False)), ["p/a"], "the old one still matches")
        m.created("p/b", "arn:p/b", {"k": "new"})
        self.assertEqual(names(m.lagged_matches(by_new, False)), ["p/b"], "creates are current, with their first tags")
        clock.now += 30.0
        self.assertEqual(names(m.lagged_matches(by_new, False)), ["p/a", "p/b"])


class Pages(unittest.TestCase):
    def test_uneven_pages_carry_a_token_until_every_entry_is_out(self) -> None:
        m, _ = model(uneven_pages=True, seed=3)
        entries = list(range(23))
        got, sizes, token = [], [], None
        page, token = m.page(entries, "SecretList", 5)
        while True:
            got += page
            sizes.append(len(page))
            if token is None:
                break
            page, token = m.page(m.resume(token)[0], "SecretList", 5)
        self.assertEqual(got, entries)
        self.assertIn(0, sizes, "an empty page with a NextToken")
        self.assertTrue(all(s <= 5 for s in sizes))
        self.assertIsNone(m.resume("strict-unknown"))

    def test_a_token_asked_again_gives_the_same_rest_as_aws_tokens_do(self) -> None:
        # A page request that timed out is sent again with its token (the SDK's retry): AWS answers it.
        m, _ = model()
        page, token = m.page(list(range(7)), "SecretList", 3)
        self.assertEqual(m.resume(token), ([3, 4, 5, 6], "SecretList"))
        self.assertEqual(m.resume(token), ([3, 4, 5, 6], "SecretList"))
        self.assertEqual(m.stats["pages_asked_again"], 1)

    def test_only_the_oldest_of_many_tokens_are_forgotten(self) -> None:
        m, _ = model()
        first = m.page([1, 2], "SecretList", 1)[1]
        later = [m.page([1, 2], "SecretList", 1)[1] for _ in range(10_000)]
        self.assertIsNone(m.resume(first))
        self.assertEqual(m.resume(later[0]), ([2], "SecretList"))

    def test_empty_first_pages_start_every_listing_with_nothing_and_a_token(self) -> None:
        m, _ = model(empty_first_pages=True)
        page, token = m.page([1, 2], "SecretList", 5, first=True)
        self.assertEqual((page, token is not None), ([], True))
        self.assertEqual(m.page(m.resume(token)[0], "SecretList", 5), ([1, 2], None))
        self.assertEqual(m.page([], "SecretList", 5, first=True), ([], None), "an empty listing just ends")


class VersionQuota(unittest.TestCase):
    def test_the_old_count_takes_every_write_in_the_window_and_retries_are_free(self) -> None:
        m, clock = model(version_quota=3, version_window=100.0, version_count_writes=True)
        m.created("p/a", "arn:p/a", {})
        for n in range(3):
            self.assertTrue(m.admit_version("p/a", f"t{n}"))
            m.versioned("p/a", f"t{n}")
        self.assertFalse(m.admit_version("p/a", "t3"), "a fourth version within the window")
        self.assertTrue(m.admit_version("p/a", "t1"), "a retry of a recorded write makes no version")
        clock.now += 101.0
        self.assertTrue(m.admit_version("p/a", "t3"), "versions older than the window age out")
        self.assertEqual(m.stats["quota_refusals"], 1)
        self.assertEqual(m.versions_report(), {})

    def test_a_forced_deletion_starts_the_name_afresh(self) -> None:
        m, _ = model(version_quota=1)
        m.created("p/a", "arn:p/a", {})
        m.versioned("p/a", "t0")
        self.assertFalse(m.admit_version("p/a", "t1"))
        m.deleted("p/a", forced=True)
        m.created("p/a", "arn:p/a-2", {})
        self.assertTrue(m.admit_version("p/a", "t1"))


class Deletion(unittest.TestCase):
    def test_a_secret_in_its_recovery_window_is_deleted_until_restored(self) -> None:
        m, _ = model()
        m.created("p/a", "arn:p/a", {"k": "v"})
        m.deleted("p/a", forced=False)
        self.assertTrue(m.is_deleted("p/a"))
        m.restored("p/a")
        self.assertFalse(m.is_deleted("p/a"))
        self.assertEqual(m.secrets["p/a"].latest().tags, {"k": "v"}, "tags survive deletion")


class Creates(unittest.TestCase):
    def test_a_name_the_model_knows_is_live_is_not_created_again_but_a_retry_is_free(self) -> None:
        m, _ = model()
        m.created("p/a", "arn:p/a", {})
        m.versioned("p/a", "tok-1")
        self.assertEqual(m.state_of("p/a"), "live")
        self.assertTrue(m.has_version("p/a", "tok-1"))
        self.assertFalse(m.has_version("p/a", "tok-2"))
        m.deleted("p/a", forced=True)
        self.assertEqual(m.state_of("p/a"), "gone")
        self.assertIsNone(m.state_of("p/b"))


class Chance(unittest.TestCase):
    def test_throttling_follows_its_rate_from_the_seed(self) -> None:
        m, _ = model(throttle=0.25, seed=11)
        hits = sum(m.throttled() for _ in range(2000))
        self.assertTrue(400 < hits < 600, hits)
        again, _ = model(throttle=0.25, seed=11)
        self.assertEqual(hits, sum(again.throttled() for _ in range(2000)), "seeded: the same draws")

    def test_patterns_choose_the_unreadable_secrets(self) -> None:
        o = Options(deny_read=re.compile("locked"), decryption_failure=re.compile("broken"))
        self.assertIsNotNone(o.deny_read.search("p/locked-1"))


class VersionsAsAwsCountsThem(unittest.TestCase):
    def test_the_write_past_the_quota_within_the_window_fails_and_a_day_later_passes(self) -> None:
        m, clock = model(version_quota=100, version_window=86400.0)
        m.created("p/a", "arn:p/a", {})
        for n in range(100):
            self.assertTrue(m.admit_version("p/a", token(n)), n)
            m.versioned("p/a", token(n))
        self.assertFalse(m.admit_version("p/a", token(100)), "the 101st within 24 hours")
        self.assertEqual(m.versions_report(), {"p/a": 100})
        clock.now += 86400.0
        self.assertTrue(m.admit_version("p/a", token(100)), "unlabelled versions a day old are pruned")
        m.versioned("p/a", token(100))
        self.assertEqual(m.versions_report(), {"p/a": 100}, "one pruned for the new one, no more")

    def test_labelled_versions_never_expire(self) -> None:
        # Three versions each holding a label of its own (a lease's, say): a day later none is pruned.
        m, clock = model(version_quota=3, version_window=100.0)
        m.created("p/a", "arn:p/a", {})
        for n in range(3):
            m.versioned("p/a", token(n), stages=[f"LINK{n}"])
        clock.now += 1000.0
        self.assertFalse(m.admit_version("p/a", token(9)))
        self.assertEqual(m.labels_of("p/a"), {token(n): [f"LINK{n}"] for n in range(3)})

    def test_awscurrent_and_awsprevious_stay_while_older_unlabelled_ones_go(self) -> None:
        m, clock = model(version_quota=3, version_window=100.0)
        m.created("p/a", "arn:p/a", {})
        for n in range(3):
            m.versioned("p/a", token(n))
        self.assertEqual(m.labels_of("p/a"), {token(2): ["AWSCURRENT"], token(1): ["AWSPREVIOUS"]})
        self.assertFalse(m.admit_version("p/a", token(3)))
        clock.now += 101.0
        # The old count lets three more writes in; AWS prunes only the unlabelled: one now, then the
        # version that lost AWSPREVIOUS (old too), then none: the newest unlabelled one is young.
        for n in (3, 4, 5):
            self.assertTrue(m.admit_version("p/a", token(n)), n)
            m.versioned("p/a", token(n))
        self.assertFalse(m.admit_version("p/a", token(6)))
        self.assertEqual(m.versions_report(), {"p/a": 3})

    def test_moving_and_removing_labels_changes_what_may_be_pruned(self) -> None:
        m, clock = model(version_quota=2, version_window=100.0)
        m.created("p/a", "arn:p/a", {})
        m.versioned("p/a", token(0))
        m.versioned("p/a", token(1), stages=["PENDING"])
        m.restaged("p/a", "AWSCURRENT", token(1), token(0))
        self.assertEqual(m.labels_of("p/a"), {token(1): ["AWSCURRENT", "PENDING"], token(0): ["AWSPREVIOUS"]})
        clock.now += 101.0
        self.assertFalse(m.admit_version("p/a", token(2)), "both labelled")
        m.restaged("p/a", "AWSPREVIOUS", None, token(0))
        self.assertTrue(m.admit_version("p/a", token(2)), "unlabelled and old: pruned")

    def test_concurrent_writes_are_checked_one_at_a_time(self) -> None:
        # Eight writers at once to a secret with room for two more versions: two succeed. Each write
        # holds LocalStack a moment, so writers checked apart from their write would all pass.
        p, upstream, _ = proxy(version_quota=3)
        self.assertEqual(code(ask(p, "CreateSecret", Name="p/a", SecretString="v0", ClientRequestToken=token(0))), "OK")
        upstream.put_pause = 0.02
        answers: list[str] = []

        def write(n: int) -> None:
            answers.append(code(ask(p, "PutSecretValue", SecretId="p/a", SecretString=f"v{n}", ClientRequestToken=token(n))))

        writers = [threading.Thread(target=write, args=(n,)) for n in range(1, 9)]
        for w in writers:
            w.start()
        for w in writers:
            w.join()
        self.assertEqual(sorted(answers), ["LimitExceededException"] * 6 + ["OK"] * 2)
        self.assertEqual(upstream.most_in_flight, 1)
        self.assertEqual(p.model.versions_report(), {"p/a": 3})

    def test_a_retried_write_makes_no_version_and_another_value_under_its_token_is_refused(self) -> None:
        p, upstream, _ = proxy(version_quota=2)
        ask(p, "CreateSecret", Name="p/a", SecretString="v0", ClientRequestToken=token(0))
        self.assertEqual(code(ask(p, "PutSecretValue", SecretId="p/a", SecretString="v1", ClientRequestToken=token(1))), "OK")
        self.assertEqual(code(ask(p, "PutSecretValue", SecretId="p/a", SecretString="v1", ClientRequestToken=token(1))), "OK")
        status, body = ask(p, "PutSecretValue", SecretId="p/a", SecretString="other", ClientRequestToken=token(1))
        self.assertEqual(body["__type"], "ResourceExistsException")
        self.assertIn(f"You can't use ClientRequestToken {token(1)}", body["message"])
        self.assertEqual(p.model.versions_written, {"p/a": 2})
        self.assertEqual(upstream.calls.count("PutSecretValue"), 2, "the conflict never reached LocalStack")


class IdempotentCreates(unittest.TestCase):
    def test_a_create_retried_with_its_token_and_value_gets_the_first_answer(self) -> None:
        p, upstream, _ = proxy()
        first = ask(p, "CreateSecret", Name="p/a", SecretString="v", ClientRequestToken=token(1))
        self.assertEqual(ask(p, "CreateSecret", Name="p/a", SecretString="v", ClientRequestToken=token(1)), first)
        self.assertEqual(upstream.calls.count("CreateSecret"), 1, "LocalStack would refuse the retry")
        self.assertEqual(p.model.stats["create_retries"], 1)
        self.assertEqual(p.model.versions_written, {"p/a": 1})

    def test_another_value_under_the_token_or_another_token_is_refused(self) -> None:
        p, _, _ = proxy()
        status, first = ask(p, "CreateSecret", Name="p/a", SecretString="v", ClientRequestToken=token(1))
        _, body = ask(p, "CreateSecret", Name="p/a", SecretString="w", ClientRequestToken=token(1))
        self.assertEqual(body["__type"], "ResourceExistsException")
        self.assertEqual(
            body["message"],
            f"You can't use ClientRequestToken {token(1)} because that value is already in use for a "
            f"version of secret {first['ARN']}.",
        )
        _, body = ask(p, "CreateSecret", Name="p/a", SecretString="v", ClientRequestToken=token(2))
        self.assertEqual(body["message"], "The operation failed because the secret p/a already exists.")

    def test_switched_off_the_retry_gets_localstacks_refusal(self) -> None:
        p, upstream, _ = proxy(idempotent_creates=False)
        ask(p, "CreateSecret", Name="p/a", SecretString="v", ClientRequestToken=token(1))
        self.assertEqual(code(ask(p, "CreateSecret", Name="p/a", SecretString="v", ClientRequestToken=token(1))), "ResourceExistsException")
        self.assertEqual(upstream.calls.count("CreateSecret"), 2, "forwarded, as before")

    def test_a_retry_after_a_delete_is_not_a_retry(self) -> None:
        p, _, _ = proxy()
        ask(p, "CreateSecret", Name="p/a", SecretString="v", ClientRequestToken=token(1))
        ask(p, "DeleteSecret", SecretId="p/a", RecoveryWindowInDays=7)
        status, body = ask(p, "CreateSecret", Name="p/a", SecretString="v", ClientRequestToken=token(1))
        self.assertEqual(body["__type"], "InvalidRequestException")


class ForcedDeletes(unittest.TestCase):
    def test_the_name_is_still_being_deleted_for_the_delay_then_free(self) -> None:
        p, _, clock = proxy(force_delete_delay=5.0)
        ask(p, "CreateSecret", Name="p/a", SecretString="v", ClientRequestToken=token(1))
        self.assertEqual(code(ask(p, "DeleteSecret", SecretId="p/a", ForceDeleteWithoutRecovery=True)), "OK")
        status, body = ask(p, "CreateSecret", Name="p/a", SecretString="v", ClientRequestToken=token(2))
        self.assertEqual((body["__type"], body["message"]), (
            "InvalidRequestException",
            "You can't create this secret because a secret with this name is already scheduled for deletion.",
        ))
        self.assertEqual(code(ask(p, "GetSecretValue", SecretId="p/a")), "InvalidRequestException")
        self.assertEqual(code(ask(p, "PutSecretValue", SecretId="p/a", SecretString="x", ClientRequestToken=token(3))), "InvalidRequestException")
        status, described = ask(p, "DescribeSecret", SecretId="p/a")
        self.assertEqual((status, "DeletedDate" in described), (200, True))
        clock.now += 4.9
        self.assertEqual(code(ask(p, "CreateSecret", Name="p/a", SecretString="v", ClientRequestToken=token(4))), "InvalidRequestException")
        clock.now += 0.1
        self.assertEqual(code(ask(p, "GetSecretValue", SecretId="p/a")), "ResourceNotFoundException")
        self.assertEqual(code(ask(p, "CreateSecret", Name="p/a", SecretString="v", ClientRequestToken=token(5))), "OK")
        self.assertEqual(p.model.stats["deleting_refusals"], 4)

    def test_without_a_delay_a_forced_delete_is_done_at_once(self) -> None:
        p, _, _ = proxy()
        ask(p, "CreateSecret", Name="p/a", SecretString="v", ClientRequestToken=token(1))
        ask(p, "DeleteSecret", SecretId="p/a", ForceDeleteWithoutRecovery=True)
        self.assertEqual(code(ask(p, "CreateSecret", Name="p/a", SecretString="v", ClientRequestToken=token(2))), "OK")


class LagTail(unittest.TestCase):
    def test_now_and_then_a_listing_lags_past_its_bound(self) -> None:
        m, clock = model(lag=10.0, lag_floor=10.0, lag_tail_probability=0.1, lag_tail=20.0, seed=4)
        m.created("p/a", "arn:p/a", {})
        clock.now += 15.0
        missed = sum(not m.lagged_matches(NAME, False) for _ in range(1000))
        # A tenth of the draws past the bound, three quarters of those past 15 s: about 75 misses.
        self.assertTrue(40 < missed < 120, missed)
        # Two draws per listing (members and tags), a tenth of each with a tail.
        self.assertTrue(160 < m.stats["lag_tails"] < 240, m.stats["lag_tails"])
        clock.now += 15.0
        self.assertTrue(all(m.lagged_matches(NAME, False) for _ in range(200)), "never past bound + tail")

    def test_without_a_tail_a_seed_draws_as_before(self) -> None:
        m, _ = model(lag=10.0, lag_floor=2.0, tag_lag=30.0, tag_lag_floor=5.0, seed=9)
        rng = random.Random(9)
        for _ in range(20):
            self.assertEqual(m.draw_lags(), (rng.uniform(2.0, 10.0), rng.uniform(5.0, 30.0)))
        self.assertEqual(m.stats["lag_tails"], 0)


class UnfilteredLag(unittest.TestCase):
    def listed(self, p: ProxyOnFake) -> dict[str, dict[str, str]]:
        status, body = ask(p, "ListSecrets")
        self.assertEqual(status, 200, body)
        return {e["Name"]: {t["Key"]: t["Value"] for t in e["Tags"]} for e in body["SecretList"]}

    def test_an_unfiltered_listing_shows_the_secrets_it_knows_as_they_were(self) -> None:
        p, upstream, clock = proxy(lag=10.0, lag_floor=10.0)
        upstream.add("other/x", {})
        ask(p, "CreateSecret", Name="p/a", SecretString="v", ClientRequestToken=token(1), Tags=[{"Key": "k", "Value": "old"}])
        self.assertEqual(self.listed(p), {"other/x": {}}, "created a moment ago: not listed yet")
        clock.now += 10.0
        self.assertEqual(self.listed(p), {"other/x": {}, "p/a": {"k": "old"}})
        ask(p, "TagResource", SecretId="p/a", Tags=[{"Key": "k", "Value": "new"}])
        ask(p, "DeleteSecret", SecretId="p/a", ForceDeleteWithoutRecovery=True)
        self.assertEqual(self.listed(p)["p/a"], {"k": "old"}, "deleted since, with its older tags")
        clock.now += 10.0
        self.assertEqual(self.listed(p), {"other/x": {}})

    def test_switched_off_it_is_current(self) -> None:
        p, _, _ = proxy(lag=10.0, lag_floor=10.0, unfiltered_lag=False)
        ask(p, "CreateSecret", Name="p/a", SecretString="v", ClientRequestToken=token(1))
        self.assertEqual(list(self.listed(p)), ["p/a"])


class BatchErrorsForSecretsGoneSince(unittest.TestCase):
    BY_NAME = [{"Key": "name", "Values": ["p/"]}]

    def setUp(self) -> None:
        self.p, _, clock = proxy(lag=10.0, lag_floor=10.0)
        for n in "abc":
            ask(self.p, "CreateSecret", Name=f"p/{n}", SecretString="v", ClientRequestToken=token(n))
        clock.now += 20.0
        ask(self.p, "DeleteSecret", SecretId="p/b", ForceDeleteWithoutRecovery=True)
        ask(self.p, "DeleteSecret", SecretId="p/c", RecoveryWindowInDays=7)

    def test_a_secret_the_lagged_listing_shows_but_gone_now_is_named_in_errors(self) -> None:
        status, body = ask(self.p, "BatchGetSecretValue", Filters=self.BY_NAME)
        self.assertEqual([v["Name"] for v in body["SecretValues"]], ["p/a"])
        errors = {e["SecretId"]: e["ErrorCode"] for e in body["Errors"]}
        self.assertEqual(errors, {"arn:aws:secretsmanager:us-east-1:000000000000:secret:p/b-AbCdEf": "ResourceNotFoundException",
                                  "arn:aws:secretsmanager:us-east-1:000000000000:secret:p/c-AbCdEf": "InvalidRequestException"})
        self.assertEqual(self.p.model.stats["batch_gone_errors"], 2)

    def test_switched_off_they_are_left_out(self) -> None:
        self.p.model.options.batch_deleted_errors = False
        status, body = ask(self.p, "BatchGetSecretValue", Filters=self.BY_NAME)
        self.assertEqual(([v["Name"] for v in body["SecretValues"]], body["Errors"]), (["p/a"], []))


class RateLimits(unittest.TestCase):
    def test_each_family_has_aws_rate_scaled_on_the_models_clock(self) -> None:
        # At a hundredth of AWS's rates: value writes 0.5 per second, reads 100.
        m, clock = model(rate_limits=True, rate_scale=0.01)
        self.assertFalse(m.rate_limited("PutSecretValue"))
        self.assertTrue(m.rate_limited("UpdateSecret"), "one family, one bucket")
        clock.now += 2.0
        self.assertFalse(m.rate_limited("UpdateSecretVersionStage"))
        self.assertFalse(m.rate_limited("TagResource"), "tagging is a family of its own")
        self.assertTrue(m.rate_limited("UntagResource"))
        reads = [m.rate_limited(op) for op in ["GetSecretValue", "DescribeSecret"] * 51]
        self.assertEqual(reads.count(True), 2, "100 reads in a second, the 101st refused")
        self.assertFalse(m.rate_limited("Decrypt"), "other services are not Secrets Manager's")
        self.assertEqual(m.stats["rate_limited"], 4)
        self.assertEqual(m.rate_limited_by_family, {"writes": 1, "tagging": 1, "reads": 2})

    def test_refused_with_throttling_through_the_proxy_and_off_by_default(self) -> None:
        p, upstream, _ = proxy(rate_limits=True, rate_scale=0.01)
        answers = [code(ask(p, "ListSecrets")) for _ in range(3)]
        self.assertEqual(answers, ["OK", "ThrottlingException", "ThrottlingException"])
        self.assertEqual(upstream.calls.count("ListSecrets"), 1)
        m, _ = model()
        self.assertFalse(any(m.rate_limited("PutSecretValue") for _ in range(1000)))


class FilterValidation(unittest.TestCase):
    def refused(self, operation: str = "ListSecrets", **payload) -> str:
        answer = filters.refusal(operation, payload)
        return "OK" if answer is None else answer[1]["__type"]

    def test_the_stores_filters_pass(self) -> None:
        self.assertEqual(self.refused(Filters=[{"Key": "name", "Values": ["zts-test/x/18af3/", "!p/lease/"]}]), "OK")
        self.assertEqual(self.refused(Filters=[{"Key": "tag-key", "Values": ["zoho-token-store:index"]},
                                               {"Key": "tag-value", "Values": ["a" * 64, "user@example.com"]}]), "OK")
        self.assertEqual(self.refused("BatchGetSecretValue", Filters=[{"Key": "all", "Values": ["x y"]}], MaxResults=20), "OK")

    def test_what_aws_refuses(self) -> None:
        one = {"Key": "name", "Values": ["p/"]}
        self.assertEqual(self.refused(Filters=[one] * 11), "ValidationException")
        self.assertEqual(self.refused(Filters=[{"Key": "name", "Values": ["p/*"]}]), "ValidationException")
        self.assertEqual(self.refused(Filters=[{"Key": "tag-value", "Values": ["a,b"]}]), "ValidationException")
        self.assertEqual(self.refused(Filters=[{"Key": "tag-value", "Values": ["x" * 513]}]), "ValidationException")
        self.assertEqual(self.refused(Filters=[{"Key": "name", "Values": []}]), "ValidationException")
        self.assertEqual(self.refused(Filters=[{"Key": "name", "Values": ["a"] * 11}]), "ValidationException")
        self.assertEqual(self.refused(Filters=[{"Key": "names", "Values": ["a"]}]), "ValidationException")
        self.assertEqual(self.refused(Filters=[{"Values": ["a"]}]), "InvalidParameterException")
        self.assertEqual(self.refused(Filters=[{"Key": "name"}]), "InvalidParameterException")
        self.assertEqual(self.refused(MaxResults=101), "ValidationException")
        self.assertEqual(self.refused("BatchGetSecretValue", Filters=[one], MaxResults=21), "ValidationException")
        self.assertEqual(self.refused("BatchGetSecretValue", Filters=[one], SecretIdList=["p/a"]), "InvalidParameterException")

    def test_aws_words_name_every_broken_constraint(self) -> None:
        _, body = filters.refusal("ListSecrets", {"Filters": [{"Key": "name", "Values": ["p/*"]}], "MaxResults": 0})
        self.assertTrue(body["message"].startswith("2 validation errors detected: Value '[p/*]' at 'filters.1.member.values'"), body)

    def test_through_the_proxy_a_refused_filter_never_reaches_localstack_unless_switched_off(self) -> None:
        bad = [{"Key": "tag-value", "Values": ["a%b"]}]
        p, upstream, _ = proxy()
        self.assertEqual(code(ask(p, "ListSecrets", Filters=bad)), "ValidationException")
        self.assertEqual((upstream.calls, p.model.stats["filter_refusals"]), ([], 1))
        p, _, _ = proxy(validate_filters=False)
        self.assertEqual(code(ask(p, "ListSecrets", Filters=bad)), "OK")


class CommandLine(unittest.TestCase):
    def test_the_flags_set_the_options_and_the_defaults_stay_as_they_were(self) -> None:
        _, o = parse([])
        self.assertEqual((o.force_delete_delay, o.lag_tail_probability, o.rate_limits), (0.0, 0.0, False))
        # On by default: AWS's behaviour, and no suite of the project's is the worse for it.
        self.assertEqual((o.unfiltered_lag, o.idempotent_creates, o.batch_deleted_errors, o.validate_filters), (True, True, True, True))
        _, o = parse(["--no-unfiltered-lag", "--force-delete-delay", "2", "--lag-tail-probability", "0.05",
                      "--lag-tail", "60", "--rate-limits", "--rate-scale", "0.1", "--no-idempotent-creates",
                      "--no-batch-deleted-errors", "--no-validate-filters", "--version-count-writes"])
        self.assertEqual(
            (o.unfiltered_lag, o.force_delete_delay, o.lag_tail_probability, o.lag_tail, o.rate_limits,
             o.rate_scale, o.idempotent_creates, o.batch_deleted_errors, o.validate_filters, o.version_count_writes),
            (False, 2.0, 0.05, 60.0, True, 0.1, False, False, False, True),
        )


if __name__ == "__main__":
    unittest.main()
