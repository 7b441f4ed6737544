"""Unit tests of the strict Zoho mock's rules, on a fake clock (standard library only).

Run: `python3 -m unittest discover -s zoho-mock -p 'test_strict_zoho.py'` (tests/strict_zoho.rs does), or
pytest. The rules are shown to bite the store's own Zoho client, through the launcher, in
tests/strict_zoho.rs.
"""

from __future__ import annotations

import http.client
import json
import threading
import unittest
import urllib.request
from typing import Dict, Optional, Tuple

from strict_zoho import (GRANT_VALIDITY, LIVE_ACCESS_TOKENS, REFRESH_TOKENS_PER_USER,
                         REFRESH_WINDOW, REFRESHES_PER_WINDOW, Accounts, Clock, StrictZoho)
from strict_zoho.crm import Crm

CLIENT = {"client_id": "1000.CLIENT", "client_secret": "client-secret"}
ACCESS_DENIED = {"error": "Access Denied",
                 "error_description": "You have made too many requests continuously. Please try again after some time.",
                 "status": "failure"}
INVALID_TOKEN = {"code": "INVALID_TOKEN", "details": {}, "message": "invalid oauth token", "status": "error"}


class FakeTime:
    """Real seconds, moved by the test."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def accounts(scale: float = 1.0) -> Tuple[Accounts, Clock, FakeTime]:
    time = FakeTime()
    clock = Clock(scale, time)
    zoho = Accounts(clock, "alice@example.com", "http://crm")
    zoho.register_client(CLIENT["client_id"], CLIENT["client_secret"])
    return zoho, clock, time


def exchange(zoho: Accounts, code: str, **overrides: str) -> Dict[str, object]:
    return zoho.token({"grant_type": "authorization_code", "code": code, "redirect_uri": "https://app/cb",
                       **CLIENT, **overrides})


def refresh(zoho: Accounts, token: str, **overrides: str) -> Dict[str, object]:
    return zoho.token({"grant_type": "refresh_token", "refresh_token": token, **CLIENT, **overrides})


def signed_in(zoho: Accounts, code: str = "code-1", email: Optional[str] = None) -> Dict[str, object]:
    zoho.issue_grant(CLIENT["client_id"], CLIENT["client_secret"], email, code)
    answer = exchange(zoho, code)
    assert "access_token" in answer, answer
    return answer


def crm_status(zoho: Accounts, access: object) -> int:
    return Crm(zoho, "7001", "Mock").answer("/crm/v8/org", {}, f"Zoho-oauthtoken {access}")[0]


class ClockRules(unittest.TestCase):
    def test_runs_scale_times_faster_and_advances_but_never_back(self) -> None:
        time = FakeTime()
        clock = Clock(40, time)
        time.now += 2.25
        self.assertEqual(clock.now(), 90.0)
        clock.advance(600)
        self.assertEqual(clock.now(), 690.0)
        self.assertEqual(clock.real(3600), 90.0)
        with self.assertRaises(ValueError):
            clock.advance(-1)
        with self.assertRaises(ValueError):
            Clock(0)

    def test_paused_time_stands_still_and_runs_on_from_where_it_stood(self) -> None:
        time = FakeTime()
        clock = Clock(225, time)
        zoho = Accounts(clock, "alice@example.com")
        zoho.register_client(CLIENT["client_id"], CLIENT["client_secret"])
        zoho.issue_grant(CLIENT["client_id"], CLIENT["client_secret"], code="slow-harness")
        clock.pause()
        time.now += 5  # 1125 Zoho seconds, were it running
        self.assertEqual(clock.now(), 0.0)
        self.assertIn("access_token", exchange(zoho, "slow-harness"), "the grant did not age while paused")
        clock.resume()
        time.now += 0.1
        self.assertAlmostEqual(clock.now(), 22.5)
        clock.advance(10)
        self.assertAlmostEqual(clock.now(), 32.5)

    def test_token_lifetimes_are_scaled_and_the_mock_expires_them_when_it_said(self) -> None:
        for scale, expires_in in [(1, 3600), (40, 90), (225, 16)]:
            zoho, _, time = accounts(scale)
            answer = signed_in(zoho)
            self.assertEqual(answer["expires_in"], expires_in)
            time.now += expires_in - 0.01
            self.assertEqual(crm_status(zoho, answer["access_token"]), 200)
            time.now += 0.01
            self.assertEqual(crm_status(zoho, answer["access_token"]), 401, "expired when announced")


class Grants(unittest.TestCase):
    def test_a_grant_is_accepted_once(self) -> None:
        zoho, _, _ = accounts()
        answer = signed_in(zoho, "code-1")
        self.assertEqual(answer["refresh_token"], "refresh-for-code-1")
        self.assertEqual((answer["token_type"], answer["api_domain"]), ("Bearer", "http://crm"))
        self.assertEqual(exchange(zoho, "code-1"), {"error": "invalid_code"})
        report = zoho.report()
        self.assertEqual((report["exchanges"], report["refused_exchanges"]), (1, 1))
        self.assertEqual(report["refused_exchanges_by_reason"], {"spent": 1})

    def test_a_grant_is_valid_for_three_zoho_minutes_scaled(self) -> None:
        zoho, _, time = accounts(scale=40)
        zoho.issue_grant(CLIENT["client_id"], CLIENT["client_secret"], code="late")
        zoho.issue_grant(CLIENT["client_id"], CLIENT["client_secret"], code="in-time")
        time.now += GRANT_VALIDITY / 40 - 0.01
        self.assertIn("access_token", exchange(zoho, "in-time"))
        time.now += 0.01
        self.assertEqual(exchange(zoho, "late"), {"error": "invalid_code"})
        report = zoho.report()
        self.assertEqual(report["refused_exchanges_by_reason"], {"expired": 1})
        self.assertAlmostEqual(report["grants"]["in-time"]["age_at_exchange"], GRANT_VALIDITY - 0.4)
        self.assertEqual((report["grants"]["late"]["spent"], report["grants"]["late"]["expired"]), (False, True))

    def test_unknown_codes_other_clients_codes_and_wrong_credentials_are_refused(self) -> None:
        zoho, _, _ = accounts()
        zoho.issue_grant("1000.OTHER", "other-secret", code="theirs")
        zoho.issue_grant(CLIENT["client_id"], CLIENT["client_secret"], code="ours")
        self.assertEqual(exchange(zoho, "never-issued"), {"error": "invalid_code"})
        self.assertEqual(exchange(zoho, "theirs"), {"error": "invalid_code"})
        self.assertEqual(exchange(zoho, "ours", client_secret="wrong"), {"error": "invalid_client"})
        self.assertEqual(exchange(zoho, "ours", client_id="1000.NOBODY"), {"error": "invalid_client"})
        self.assertIn("access_token", exchange(zoho, "ours"), "a refused attempt does not spend the grant")
        self.assertEqual(zoho.report()["invalid_client"], 2)

    def test_a_code_or_client_cannot_be_issued_twice_differently(self) -> None:
        zoho, _, _ = accounts()
        zoho.issue_grant(CLIENT["client_id"], CLIENT["client_secret"], code="once")
        with self.assertRaises(ValueError):
            zoho.issue_grant(CLIENT["client_id"], CLIENT["client_secret"], code="once")
        with self.assertRaises(ValueError):
            zoho.issue_grant(CLIENT["client_id"], "another-secret")
        fresh = {zoho.issue_grant(CLIENT["client_id"], CLIENT["client_secret"]) for _ in range(3)}
        self.assertEqual(len(fresh), 3)


class RefreshWindow(unittest.TestCase):
    def test_ten_refreshes_per_ten_zoho_minutes_then_access_denied(self) -> None:
        zoho, _, time = accounts(scale=40)
        token = signed_in(zoho)["refresh_token"]
        for _ in range(REFRESHES_PER_WINDOW):
            self.assertIn("access_token", refresh(zoho, token))
            time.now += 1  # 40 Zoho seconds apart: all ten inside one window
        self.assertEqual(refresh(zoho, token), ACCESS_DENIED, "HTTP 200 body, as Zoho answers it")
        report = zoho.report()
        mine = report["refresh_tokens"][token]
        self.assertEqual((report["refreshes"], report["access_denied"]), (10, 1))
        self.assertEqual((mine["refreshes"], mine["access_denied"], mine["in_window"]), (10, 1, 10))
        # The first of the ten leaves the window 600 Zoho seconds after it was minted: 15 real seconds.
        self.assertAlmostEqual(mine["window_allows_in_real"], REFRESH_WINDOW / 40 - 10)
        time.now += mine["window_allows_in_real"] - 0.01
        self.assertEqual(refresh(zoho, token), ACCESS_DENIED)
        time.now += 0.01
        self.assertIn("access_token", refresh(zoho, token), "the window slid past the first")
        self.assertEqual(refresh(zoho, token), ACCESS_DENIED, "and only past the first")

    def test_a_denied_refresh_mints_nothing_and_advancing_opens_the_window(self) -> None:
        zoho, clock, _ = accounts()
        token = signed_in(zoho)["refresh_token"]
        for _ in range(REFRESHES_PER_WINDOW):
            refresh(zoho, token)
        minted = zoho.minted
        for _ in range(5):
            self.assertEqual(refresh(zoho, token), ACCESS_DENIED)
        self.assertEqual(zoho.minted, minted)
        clock.advance(REFRESH_WINDOW)
        self.assertIn("access_token", refresh(zoho, token))

    def test_the_window_is_per_refresh_token(self) -> None:
        zoho, _, _ = accounts()
        first = signed_in(zoho, "code-1")["refresh_token"]
        second = signed_in(zoho, "code-2")["refresh_token"]
        for _ in range(REFRESHES_PER_WINDOW):
            refresh(zoho, first)
        self.assertEqual(refresh(zoho, first), ACCESS_DENIED)
        self.assertIn("access_token", refresh(zoho, second))


class LiveAccessTokens(unittest.TestCase):
    def test_the_sixteenth_live_token_evicts_the_oldest(self) -> None:
        zoho, _, time = accounts()
        answer = signed_in(zoho)
        token = answer["refresh_token"]
        issued = [answer["access_token"]]
        while len(issued) < LIVE_ACCESS_TOKENS:
            time.now += REFRESH_WINDOW / REFRESHES_PER_WINDOW  # never past the window's pace
            issued.append(refresh(zoho, token)["access_token"])
        self.assertTrue(all(crm_status(zoho, a) == 200 for a in issued), "15 live")
        time.now += REFRESH_WINDOW / REFRESHES_PER_WINDOW
        issued.append(refresh(zoho, token)["access_token"])
        crm = Crm(zoho, "7001", "Mock")
        self.assertEqual(crm.answer("/crm/v8/org", {}, f"Zoho-oauthtoken {issued[0]}"), (401, INVALID_TOKEN))
        self.assertTrue(all(crm_status(zoho, a) == 200 for a in issued[1:]))
        report = zoho.report()
        self.assertEqual((report["evicted"], report["refresh_tokens"][token]["evicted"]), (1, 1))
        self.assertEqual(report["invalid_token_by_reason"], {"evicted": 1})
        self.assertEqual(report["refresh_tokens"][token]["live_access_tokens"], LIVE_ACCESS_TOKENS)

    def test_expired_tokens_are_not_live_and_evict_nothing(self) -> None:
        zoho, _, time = accounts()
        answer = signed_in(zoho)
        token = answer["refresh_token"]
        # One token every 6.5 Zoho minutes: each lives an hour, so never more than 10 live at once.
        for _ in range(40):
            time.now += 390
            refresh(zoho, token)
        report = zoho.report()
        self.assertEqual((report["evicted"], report["access_denied"]), (0, 0))
        self.assertEqual(crm_status(zoho, answer["access_token"]), 401)
        self.assertEqual(zoho.report()["invalid_token_by_reason"], {"expired": 1})


class RefreshTokensPerUser(unittest.TestCase):
    def test_the_twenty_first_deletes_the_first_for_that_user_and_client_only(self) -> None:
        zoho, _, _ = accounts()
        other_user = signed_in(zoho, "bob-1", email="bob@example.com")
        zoho.issue_grant("1000.OTHER", "other-secret", code="other-client")
        other_client = exchange(zoho, "other-client", client_id="1000.OTHER", client_secret="other-secret")
        first = signed_in(zoho, "code-0")
        for n in range(1, REFRESH_TOKENS_PER_USER):
            signed_in(zoho, f"code-{n}")
        self.assertIn("access_token", refresh(zoho, first["refresh_token"]), "20 held: the first still works")
        signed_in(zoho, "code-20")
        self.assertEqual(refresh(zoho, first["refresh_token"]), {"error": "invalid_code"})
        self.assertEqual(crm_status(zoho, first["access_token"]), 401, "its access tokens went with it")
        self.assertIn("access_token", refresh(zoho, "refresh-for-code-1"))
        self.assertIn("access_token", refresh(zoho, other_user["refresh_token"]))
        self.assertIn("access_token", refresh(zoho, other_client["refresh_token"], client_id="1000.OTHER",
                                              client_secret="other-secret"))
        report = zoho.report()
        self.assertEqual(report["deleted_refresh_tokens"], 1)
        self.assertEqual(report["refresh_tokens"][first["refresh_token"]]["state"], "deleted")

    def test_tokens_registered_up_front_count_too(self) -> None:
        zoho, _, _ = accounts()
        first = zoho.issue_refresh_token(CLIENT["client_id"], CLIENT["client_secret"], token="seeded")
        for n in range(REFRESH_TOKENS_PER_USER):
            signed_in(zoho, f"code-{n}")
        self.assertEqual(refresh(zoho, first), {"error": "invalid_code"})


class Revoke(unittest.TestCase):
    def test_a_revoked_refresh_token_is_refused_and_its_access_tokens_die(self) -> None:
        zoho, _, _ = accounts()
        answer = signed_in(zoho)
        self.assertEqual(zoho.revoke(answer["refresh_token"]), (200, {"status": "success"}))
        self.assertEqual(refresh(zoho, answer["refresh_token"]), {"error": "invalid_code"})
        self.assertEqual(crm_status(zoho, answer["access_token"]), 401)
        self.assertEqual(zoho.revoke(answer["refresh_token"])[0], 400, "Zoho: HTTP 400 for an invalid token")
        report = zoho.report()
        self.assertEqual((report["revoked"], report["refused_refreshes"]), (1, 1))
        self.assertEqual(report["refresh_tokens"][answer["refresh_token"]]["refused"], 1)

    def test_a_revoked_token_frees_its_place_among_the_twenty(self) -> None:
        zoho, _, _ = accounts()
        first = signed_in(zoho, "code-0")
        second = signed_in(zoho, "code-1")
        zoho.revoke(second["refresh_token"])
        for n in range(2, REFRESH_TOKENS_PER_USER + 1):
            signed_in(zoho, f"code-{n}")
        self.assertIn("access_token", refresh(zoho, first["refresh_token"]))


class OverHttp(unittest.TestCase):
    """The server and control endpoints, on the fake clock."""

    def setUp(self) -> None:
        self.time = FakeTime()
        self.zoho = StrictZoho(clock=Clock(1, self.time)).start()
        self.addCleanup(self.zoho.stop)

    def post(self, path: str, body: bytes, content_type: str = "application/x-www-form-urlencoded") -> Tuple[int, dict]:
        request = urllib.request.Request(self.zoho.url + path, data=body, method="POST",
                                         headers={"Content-Type": content_type})
        try:
            with urllib.request.urlopen(request) as answer:
                return answer.status, json.load(answer)
        except urllib.error.HTTPError as e:
            return e.code, json.load(e)

    def get(self, path: str, access: str = "") -> Tuple[int, dict]:
        request = urllib.request.Request(self.zoho.url + path, headers={"Authorization": f"Zoho-oauthtoken {access}"})
        try:
            with urllib.request.urlopen(request) as answer:
                return answer.status, json.load(answer)
        except urllib.error.HTTPError as e:
            return e.code, json.load(e)

    def test_sign_in_crm_calls_revoke_by_query_string_and_the_stats(self) -> None:
        _, grant = self.post("/_zoho/grant", json.dumps({"email": "ann@example.com"}).encode(), "application/json")
        status, answer = self.post(f"/oauth/v2/token?grant_type=authorization_code&code={grant['code']}"
                                   "&client_id=1000.CLIENT&client_secret=client-secret&redirect_uri=x", b"")
        self.assertEqual(status, 200)
        access = answer["access_token"]
        self.assertEqual(self.get("/crm/v8/users?type=CurrentUser", access)[1]["users"][0]["email"], "ann@example.com")
        self.assertEqual(self.get("/crm/v8/org", access)[1]["org"][0]["zgid"], "7001")
        self.assertEqual(self.get("/crm/v8/org", "1000.forged"), (401, INVALID_TOKEN))
        self.assertEqual(self.post(f"/oauth/v2/token/revoke?token={answer['refresh_token']}", b""),
                         (200, {"status": "success"}))
        self.assertEqual(self.get("/crm/v8/org", access)[0], 401)
        with urllib.request.urlopen(self.zoho.url + "/_zoho/stats") as reply:
            stats = json.load(reply)
        self.assertEqual((stats["exchanges"], stats["revoked"], stats["invalid_token"], stats["crm_calls"]),
                         (1, 1, 2, 4))
        self.assertEqual(self.zoho.crm_calls[0], ("/crm/v8/users", access))

    def test_token_requests_as_the_node_sdk_posts_them_multipart_and_chunked(self) -> None:
        # The Node.js and TypeScript SDKs post a FormData (multipart/form-data), which Zoho reads as it
        # reads a URL-encoded form; a body without a length comes chunked.
        self.zoho.grant("code-m")
        fields = {"client_id": "1000.CLIENT", "client_secret": "client-secret", "redirect_uri": "x",
                  "grant_type": "authorization_code", "code": "code-m"}
        boundary = "formdata-undici-0123456789"
        body = b"".join(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
                        for name, value in fields.items()) + f"--{boundary}--\r\n".encode()
        status, answer = self.post("/oauth/v2/token", body, f"multipart/form-data; boundary={boundary}")
        self.assertEqual(status, 200)
        self.assertIn("access_token", answer, answer)
        form = f"grant_type=refresh_token&refresh_token={answer['refresh_token']}" \
               "&client_id=1000.CLIENT&client_secret=client-secret"
        request = urllib.request.Request(self.zoho.url + "/oauth/v2/token", data=iter([form[:20].encode(), form[20:].encode()]),
                                         method="POST", headers={"Content-Type": "application/x-www-form-urlencoded",
                                                                 "Transfer-Encoding": "chunked"})
        with urllib.request.urlopen(request) as reply:
            self.assertIn("access_token", json.load(reply))
        self.assertEqual(self.post("/oauth/v2/token", b"--x--\r\n", "multipart/form-data; boundary=y"),
                         (200, {"error": "unsupported_grant_type"}))
        # A chunk size that is not plain hex (Python's int() would take "-1", "0x10", "+a" or "1_0", and
        # "-1" would read until the client hung up), a body past 1 MiB, a length that is not a number:
        # a 400 at once, and the server goes on serving.
        for size in (b"zz", b"-1", b"0x10", b"+a", b"1_0", b"FFFFFFFFFF", b"100001"):
            connection = http.client.HTTPConnection(self.zoho.url.split("//")[1], timeout=10)
            connection.request("POST", "/oauth/v2/token", body=size + b"\r\nx\r\n0\r\n\r\n",
                               headers={"Transfer-Encoding": "chunked"})
            self.assertEqual(connection.getresponse().status, 400, size)
            connection.close()
        for length in ("-1", "2000000", "1e3"):
            connection = http.client.HTTPConnection(self.zoho.url.split("//")[1], timeout=10)
            connection.putrequest("POST", "/oauth/v2/token")
            connection.putheader("Content-Length", length)
            connection.endheaders()
            self.assertEqual(connection.getresponse().status, 400, length)
            connection.close()
        self.assertEqual((self.zoho.stats()["exchanges"], self.zoho.stats()["refreshes"]), (1, 1))

    def test_advance_is_in_zoho_seconds_and_bad_control_requests_are_refused(self) -> None:
        self.zoho.grant("code-1")
        self.post("/_zoho/advance", json.dumps({"seconds": GRANT_VALIDITY}).encode(), "application/json")
        form = b"grant_type=authorization_code&code=code-1&client_id=1000.CLIENT&client_secret=client-secret"
        self.assertEqual(self.post("/oauth/v2/token", form), (200, {"error": "invalid_code"}))
        self.assertEqual(self.post("/_zoho/advance", b'{"seconds": -1}', "application/json")[0], 400)
        self.assertEqual(self.post("/_zoho/hooks", b'{"hold_everything": 1}', "application/json")[0], 400)
        self.assertEqual(self.post("/_zoho/grant", b'{"code": "code-1"}', "application/json")[0], 400)
        self.assertEqual(self.zoho.stats()["clock"]["advanced"], GRANT_VALIDITY)
        status, clock = self.post("/_zoho/clock", b'{"paused": true}', "application/json")
        self.assertEqual((status, clock["paused"]), (200, True))
        self.time.now += 1000
        self.assertEqual(self.zoho.stats()["clock"]["now"], clock["now"])
        self.assertFalse(self.post("/_zoho/clock", b'{"paused": false}', "application/json")[1]["paused"])

    def test_held_exchanges_answer_together_one_accepted(self) -> None:
        self.zoho.grant("shared")
        self.zoho.hold_exchanges_until = 3
        form = b"grant_type=authorization_code&code=shared&client_id=1000.CLIENT&client_secret=client-secret"
        answers = []
        threads = [threading.Thread(target=lambda: answers.append(self.post("/oauth/v2/token", form)[1]))
                   for _ in range(3)]
        for thread in threads[:2]:
            thread.start()
        for thread in threads[:2]:
            thread.join(0.3)
        self.assertEqual(answers, [], "held until the third arrives")
        threads[2].start()
        for thread in threads:
            thread.join(10)
        self.assertEqual(sorted("access_token" in a for a in answers), [False, False, True])
        self.assertEqual(self.zoho.exchanges, ["shared"] * 3)

    def test_a_hung_refresh_was_acted_on_and_answers_once_released(self) -> None:
        token = self.zoho.issue_refresh_token("seeded")
        self.post("/_zoho/hooks", b'{"hang_next_refresh": true}', "application/json")
        form = f"grant_type=refresh_token&refresh_token={token}&client_id=1000.CLIENT&client_secret=client-secret"
        answers = []
        thread = threading.Thread(target=lambda: answers.append(self.post("/oauth/v2/token", form.encode())[1]))
        thread.start()
        self.assertTrue(self.zoho.hung.wait(10))
        thread.join(0.3)
        self.assertEqual(answers, [])
        self.assertEqual(self.zoho.stats()["refreshes"], 1, "Zoho minted the token as the request arrived")
        self.assertTrue(self.zoho.stats()["hooks"]["hung"])
        self.post("/_zoho/release", b"")
        thread.join(10)
        self.assertIn("access_token", answers[0])
        self.assertIn("access_token", self.post("/oauth/v2/token", form.encode())[1], "the next one is not held")

    def test_each_token_minted_is_recorded_with_the_life_left_on_the_one_it_replaced(self) -> None:
        zoho = StrictZoho(scale=225, clock=Clock(225, self.time))  # 16-second tokens; not served
        form = {"grant_type": "authorization_code", "code": "code-r", **CLIENT}
        zoho.grant("code-r")
        token = zoho.token_request(form)["refresh_token"]
        refresh_form = {"grant_type": "refresh_token", "refresh_token": token, **CLIENT}
        zoho.pause()
        self.time.now += 30  # the harness's time, not Zoho's: clients still count it
        zoho.resume()
        self.time.now += 10
        zoho.token_request(refresh_form)  # the exchange's token: expired for its clients 24 s ago
        self.time.now += 9
        zoho.token_request(refresh_form)  # 7 s left: within a margin of 6 s and 2 s of clock skew
        self.time.now += 1
        third = zoho.token_request(refresh_form)["access_token"]  # 15 s left: a second refresh of one expiry
        exchange_record, first, second, third_record = zoho.issued
        self.assertEqual((exchange_record["by"], exchange_record["replaced"]), ("exchange", None))
        self.assertEqual(first["replaced"], exchange_record["access_token"])
        # By Zoho's clock, paused meanwhile, it still had 1350 Zoho seconds (6 real ones) to live.
        self.assertEqual((first["real"], first["replaced_left_real"], first["replaced_left"]), (40, -24, 1350))
        self.assertEqual((second["replaced_left_real"], third_record["replaced_left_real"]), (7, 15))
        self.assertEqual(third_record["replaced_state"], "live")
        self.assertEqual([r["access_token"] for r in zoho.early_refreshes(token, 8)], [third])
        self.assertEqual(zoho.early_refreshes(token, 8)[0]["previous_left_real"], 15)
        # Had nobody got the second one's answer (its caller killed), the third replaced the first.
        self.assertEqual(zoho.early_refreshes(token, 8, ignore=[second["access_token"]]), [])
        self.assertEqual(zoho.early_refreshes("another", 8), [])

    def test_slow_refreshes_are_slow(self) -> None:
        import time as real

        token = self.zoho.issue_refresh_token()
        self.zoho.hooks.configure({"slow_refreshes": 1, "refresh_delay": 0.3})
        form = f"grant_type=refresh_token&refresh_token={token}&client_id=1000.CLIENT&client_secret=client-secret"
        began = real.monotonic()
        self.post("/oauth/v2/token", form.encode())
        self.assertGreaterEqual(real.monotonic() - began, 0.3)
        self.assertEqual(self.zoho.stats()["hooks"]["slow_refreshes"], 0)


if __name__ == "__main__":
    unittest.main()
