"""Unit tests of the strict AWS model's rules, on a fake clock (standard library only).

Run: `python3 -m unittest discover -s localstack -p 'test_strict_aws.py'` (tests/strict_aws.rs does).
The behaviours are shown to bite the store itself, through the running proxy, in tests/strict_aws.rs.
"""

import re
import unittest

from strict_aws import Model, Options, matches

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

    def test_empty_first_pages_start_every_listing_with_nothing_and_a_token(self) -> None:
        m, _ = model(empty_first_pages=True)
        page, token = m.page([1, 2], "SecretList", 5, first=True)
        self.assertEqual((page, token is not None), ([], True))
        self.assertEqual(m.page(m.resume(token)[0], "SecretList", 5), ([1, 2], None))
        self.assertEqual(m.page([], "SecretList", 5, first=True), ([], None), "an empty listing just ends")


class VersionQuota(unittest.TestCase):
    def test_the_quota_counts_writes_in_the_window_and_retries_are_free(self) -> None:
        m, clock = model(version_quota=3, version_window=100.0)
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


if __name__ == "__main__":
    unittest.main()
