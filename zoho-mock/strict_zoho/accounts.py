"""Zoho accounts' OAuth rules, on the mock's clock (clock.py), as Zoho documents them
(shared/reference/zoho-sdk-token-contract.md, "Zoho accounts OAuth"; CRM v8 "OAuth limits"):

- a grant token (authorization code) is exchanged once, within 3 minutes of its issue; an unknown,
  spent or expired one answers `{"error": "invalid_code"}`;
- at most 10 access tokens per refresh token by refresh in any 10 minutes (a sliding window); past it
  `{"error": "Access Denied", ...}`, and nothing is minted;
- at most 15 live access tokens per refresh token: minting the 16th evicts the oldest live one;
- at most 20 refresh tokens per user and client: the 21st deletes the first, which is refused from then on;
- a revoked or deleted refresh token answers `invalid_code`, and its access tokens stop working;
- a client id that is not registered, or the wrong secret for it: `{"error": "invalid_client"}`.

Errors come with HTTP 200, as Zoho sends them. Only the grant exchange's access token is exempt from the
10-per-window count (it is minted by the grant, not by refresh; Zoho's documentation counts "access
tokens generated with a refresh token"); it does count among the 15 live ones.

Everything here is behind one lock: requests arrive on threads of their own, and two processes racing
with one grant must get Zoho's answer (one exchange, one refusal).
"""

from __future__ import annotations

import secrets
import threading
from typing import Dict, List, Mapping, Optional, Tuple

from .clock import Clock
from .tokens import (DELETED, EVICTED, LIVE, REVOKED, WITH_REFRESH_TOKEN, AccessToken, Client, GrantCode,
                     RefreshToken)

# Zoho's limits, in Zoho seconds.
GRANT_VALIDITY = 180.0
ACCESS_TOKEN_LIFETIME = 3600.0
REFRESH_WINDOW = 600.0
REFRESHES_PER_WINDOW = 10
LIVE_ACCESS_TOKENS = 15
REFRESH_TOKENS_PER_USER = 20

ACCESS_DENIED = {
    "error": "Access Denied",
    "error_description": "You have made too many requests continuously. Please try again after some time.",
    "status": "failure",
}
INVALID_CODE = {"error": "invalid_code"}
INVALID_CLIENT = {"error": "invalid_client"}

COUNTS = ("exchange_requests", "exchanges", "refused_exchanges", "refresh_requests", "refreshes",
          "refused_refreshes", "access_denied", "evicted", "invalid_client", "revoke_requests", "revoked",
          "deleted_refresh_tokens", "crm_calls", "invalid_token")


class Accounts:
    """The accounts server's state and rules. `api_domain` is what token answers name as the CRM's
    domain (the mock's own URL, known once it listens)."""

    def __init__(self, clock: Clock, email: str, api_domain: str = "") -> None:
        self.clock = clock
        self.default_email = email
        self.api_domain = api_domain
        self.lock = threading.Lock()
        self.clients: Dict[str, Client] = {}
        self.grants: Dict[str, GrantCode] = {}
        self.refresh_tokens: Dict[str, RefreshToken] = {}
        self.access_tokens: Dict[str, AccessToken] = {}
        # Each user's and client's live refresh tokens, oldest first (the 21st deletes the first).
        self.by_user: Dict[Tuple[str, str], List[str]] = {}
        self.counts: Dict[str, int] = dict.fromkeys(COUNTS, 0)
        self.refused_exchanges_by_reason: Dict[str, int] = {}
        self.invalid_token_by_reason: Dict[str, int] = {}
        self.minted = 0
        # Every access token minted, in order, with what it replaced (see `_mint`): how a test tells a
        # second refresh of one expiry from a refresh of the next one, whatever the scheduling.
        self.issued: List[Dict[str, object]] = []
        # Zoho answers `expires_in` in whole seconds; the client turns it into a wall-clock expiry. Scaled,
        # that is 3600 / scale real seconds, rounded; the mock expires the token at exactly the lifetime it
        # announced, so the client and the mock agree on the moment.
        self.expires_in = max(1, round(clock.real(ACCESS_TOKEN_LIFETIME)))
        self.lifetime = self.expires_in * clock.scale

    # ---- what a test sets up (Zoho's console and a user's consent) ---------------------------------

    def register_client(self, client_id: str, secret: str) -> None:
        """Registers an API client; the same id with another secret is refused (ValueError)."""
        with self.lock:
            self._register_client(client_id, secret)

    def issue_grant(self, client_id: str, secret: str, email: Optional[str] = None,
                    code: Optional[str] = None) -> str:
        """A user's consent: a grant code for `client_id`, issued now (a fresh one unless `code` names it;
        a code issued before is refused with ValueError). Returns the code."""
        with self.lock:
            self._register_client(client_id, secret)
            code = code or f"1000.grant.{secrets.token_hex(12)}"
            if code in self.grants:
                raise ValueError(f"grant code {code!r} was issued already: a grant is single-use")
            self.grants[code] = GrantCode(code, client_id, email or self.default_email, self.clock.now())
            return code

    def issue_refresh_token(self, client_id: str, secret: str, email: Optional[str] = None,
                            token: Optional[str] = None) -> str:
        """A refresh token issued before the test began (one the test stores up front), for `email` and
        `client_id`. It counts among the user's 20 like any other. Returns the token."""
        with self.lock:
            self._register_client(client_id, secret)
            if token is not None and token in self.refresh_tokens:
                raise ValueError(f"refresh token {token!r} exists already")
            return self._new_refresh_token(client_id, email or self.default_email,
                                           token or f"1000.refresh.{secrets.token_hex(12)}").token

    # ---- the token endpoint ------------------------------------------------------------------------

    def token(self, form: Mapping[str, str]) -> Dict[str, object]:
        """`POST /oauth/v2/token`: the answer's JSON body (always HTTP 200)."""
        grant_type = form.get("grant_type")
        if grant_type == "authorization_code":
            return self.exchange(form)
        if grant_type == "refresh_token":
            return self.refresh(form)
        return {"error": "unsupported_grant_type"}

    def exchange(self, form: Mapping[str, str]) -> Dict[str, object]:
        with self.lock:
            self.counts["exchange_requests"] += 1
            client = self._client(form)
            if client is None:
                self.counts["refused_exchanges"] += 1
                return INVALID_CLIENT
            now = self.clock.now()
            grant = self.grants.get(form.get("code", ""))
            if grant is None:
                reason = "unknown"
            elif grant.spent:
                reason = "spent"
            elif now - grant.issued_at >= GRANT_VALIDITY:
                reason = "expired"
            elif grant.client_id != client.client_id:
                reason = "another client's"
            else:
                reason = ""
            if reason or grant is None:
                self.counts["refused_exchanges"] += 1
                self.refused_exchanges_by_reason[reason] = self.refused_exchanges_by_reason.get(reason, 0) + 1
                return INVALID_CODE
            grant.spent = True
            grant.age_at_exchange = now - grant.issued_at
            name = f"refresh-for-{grant.code}"
            while name in self.refresh_tokens:  # a name a test registered: the grant's token is another
                name += "+"
            refresh = self._new_refresh_token(client.client_id, grant.email, name)
            access = self._mint(refresh, now, by_refresh=False)
            self.counts["exchanges"] += 1
            return {"access_token": access.token, "refresh_token": refresh.token, "api_domain": self.api_domain,
                    "token_type": "Bearer", "expires_in": self.expires_in}

    def refresh(self, form: Mapping[str, str]) -> Dict[str, object]:
        with self.lock:
            self.counts["refresh_requests"] += 1
            client = self._client(form)
            if client is None:
                self.counts["refused_refreshes"] += 1
                return INVALID_CLIENT
            refresh = self.refresh_tokens.get(form.get("refresh_token", ""))
            if refresh is None or refresh.state != LIVE or refresh.client_id != client.client_id:
                self.counts["refused_refreshes"] += 1
                if refresh is not None:
                    refresh.refused += 1
                return INVALID_CODE
            now = self.clock.now()
            if self._in_window(refresh, now) >= REFRESHES_PER_WINDOW:
                refresh.access_denied += 1
                self.counts["access_denied"] += 1
                return ACCESS_DENIED
            access = self._mint(refresh, now, by_refresh=True)
            refresh.refreshes += 1
            self.counts["refreshes"] += 1
            return {"access_token": access.token, "api_domain": self.api_domain, "token_type": "Bearer",
                    "expires_in": self.expires_in}

    def revoke(self, token: str) -> Tuple[int, Dict[str, object]]:
        """`POST /oauth/v2/token/revoke`: (HTTP status, body). Zoho documents `{"status": "success"}`, and
        HTTP 400 for a token it does not know (the body is the mock's choice)."""
        with self.lock:
            self.counts["revoke_requests"] += 1
            refresh = self.refresh_tokens.get(token)
            if refresh is None or refresh.state != LIVE:
                return 400, INVALID_CODE
            self._retire(refresh, REVOKED)
            self.counts["revoked"] += 1
            return 200, {"status": "success"}

    # ---- what CRM calls present ------------------------------------------------------------------------

    def authorize(self, authorization: str) -> Optional[str]:
        """The user an `Authorization: Zoho-oauthtoken <access token>` header signs in, or None (counted
        as an `INVALID_TOKEN` answer, with why) when the token is unknown, expired, evicted or revoked."""
        with self.lock:
            self.counts["crm_calls"] += 1
            prefix = "Zoho-oauthtoken "
            token = authorization[len(prefix):] if authorization.startswith(prefix) else ""
            access = self.access_tokens.get(token)
            if access is None:
                reason = "unknown"
            elif access.state != LIVE:
                reason = access.state
            elif self.clock.now() >= access.expires_at:
                reason = "expired"
            else:
                return access.email
            self.counts["invalid_token"] += 1
            self.invalid_token_by_reason[reason] = self.invalid_token_by_reason.get(reason, 0) + 1
            return None

    # ---- what the test reads ---------------------------------------------------------------------------

    def report(self) -> Dict[str, object]:
        """Counts of what was asked and answered; each grant's fate (spent, and how old it was then, in
        Zoho seconds); each refresh token's own counts (keyed by the token: they are the mock's, made up)."""
        with self.lock:
            now = self.clock.now()
            tokens = {}
            for refresh in self.refresh_tokens.values():
                in_window = self._in_window(refresh, now)
                allows_in = 0.0
                if in_window >= REFRESHES_PER_WINDOW:
                    allows_in = refresh.minted[in_window - REFRESHES_PER_WINDOW] + REFRESH_WINDOW - now
                tokens[refresh.token] = {
                    "user": refresh.email, "client_id": refresh.client_id, "state": refresh.state,
                    "refreshes": refresh.refreshes, "access_denied": refresh.access_denied,
                    "refused": refresh.refused, "evicted": refresh.evicted,
                    "live_access_tokens": len(self._live(refresh, now)), "in_window": in_window,
                    "window_allows_in": allows_in, "window_allows_in_real": self.clock.real(allows_in),
                }
            grants = {grant.code: {"user": grant.email, "client_id": grant.client_id, "spent": grant.spent,
                                   "age_at_exchange": grant.age_at_exchange,
                                   "expired": not grant.spent and now - grant.issued_at >= GRANT_VALIDITY}
                      for grant in self.grants.values()}
            return {
                **self.counts,
                "issued": [dict(record) for record in self.issued],
                "grants": grants,
                "refused_exchanges_by_reason": dict(self.refused_exchanges_by_reason),
                "invalid_token_by_reason": dict(self.invalid_token_by_reason),
                "refresh_tokens": tokens,
                "clock": {"scale": self.clock.scale, "now": now, "advanced": self.clock.advanced(),
                          "paused": self.clock.paused(), "expires_in": self.expires_in},
            }

    # ---- the rules' steps (the lock held) --------------------------------------------------------------

    def _register_client(self, client_id: str, secret: str) -> None:
        known = self.clients.get(client_id)
        if known is not None and known.secret != secret:
            raise ValueError(f"client {client_id!r} is registered with another secret")
        self.clients[client_id] = Client(client_id, secret)

    def _client(self, form: Mapping[str, str]) -> Optional[Client]:
        client = self.clients.get(form.get("client_id", ""))
        if client is None or client.secret != form.get("client_secret"):
            self.counts["invalid_client"] += 1
            return None
        return client

    def _new_refresh_token(self, client_id: str, email: str, name: str) -> RefreshToken:
        held = self.by_user.setdefault((email, client_id), [])
        if len(held) >= REFRESH_TOKENS_PER_USER:
            self._retire(self.refresh_tokens[held[0]], DELETED)
            self.counts["deleted_refresh_tokens"] += 1
        refresh = RefreshToken(name, client_id, email, self.clock.now())
        self.refresh_tokens[name] = refresh
        held.append(name)
        return refresh

    def _retire(self, refresh: RefreshToken, state: str) -> None:
        """A refresh token revoked or deleted: refused from now on, and its access tokens with it."""
        refresh.state = state
        self.by_user[(refresh.email, refresh.client_id)].remove(refresh.token)
        for token in refresh.live:
            if self.access_tokens[token].state == LIVE:
                self.access_tokens[token].state = WITH_REFRESH_TOKEN
        refresh.live = []

    def _live(self, refresh: RefreshToken, now: float) -> List[str]:
        """Its access tokens neither expired nor evicted, oldest first (kept pruned)."""
        refresh.live = [t for t in refresh.live
                        if self.access_tokens[t].state == LIVE and now < self.access_tokens[t].expires_at]
        return refresh.live

    def _in_window(self, refresh: RefreshToken, now: float) -> int:
        """Access tokens it minted by refresh in the 10 minutes up to `now`."""
        while refresh.minted and refresh.minted[0] <= now - REFRESH_WINDOW:
            refresh.minted.popleft()
        return len(refresh.minted)

    def _mint(self, refresh: RefreshToken, now: float, by_refresh: bool) -> AccessToken:
        self.minted += 1
        real = self.clock.elapsed()
        access = AccessToken(f"1000.{self.minted:04d}.{secrets.token_hex(12)}", refresh.token, refresh.email,
                             now + self.lifetime, issued_at=now, issued_real=real)
        self.issued.append(self._issue_record(refresh, access, by_refresh))
        refresh.newest = access.token
        self.access_tokens[access.token] = access
        live = self._live(refresh, now)
        live.append(access.token)
        if len(live) > LIVE_ACCESS_TOKENS:
            self.access_tokens[live.pop(0)].state = EVICTED
            refresh.evicted += 1
            self.counts["evicted"] += 1
        if by_refresh:
            refresh.minted.append(now)
        return access

    def _issue_record(self, refresh: RefreshToken, access: AccessToken, by_refresh: bool) -> Dict[str, object]:
        """What `issued` keeps of a minted token: the token, its refresh token, how and when (Zoho and real
        seconds) it was minted, and the access token it replaced (the refresh token's previous one) with
        the life that one had left then: `replaced_left` by Zoho's clock (0 or less: expired, also by
        `advance`), `replaced_left_real` in real seconds as a client that received it when it was minted
        counts it (its issue + `expires_in`; later receipt and clock offsets are the client's), and its
        state (evicted, or dead with a revoked refresh token)."""
        previous = self.access_tokens.get(refresh.newest) if refresh.newest else None
        return {
            "access_token": access.token, "refresh_token": refresh.token,
            "by": "refresh" if by_refresh else "exchange", "at": access.issued_at, "real": access.issued_real,
            "expires_in": self.expires_in,
            "replaced": previous.token if previous else None,
            "replaced_left": previous.expires_at - access.issued_at if previous else None,
            "replaced_left_real": (previous.issued_real + self.expires_in - access.issued_real
                                   if previous else None),
            "replaced_state": previous.state if previous else None,
        }

    def note(self, access_token: str, **facts: object) -> None:
        """Adds `facts` to the record of a minted token (the hooks held its answer, say)."""
        with self.lock:
            for record in reversed(self.issued):
                if record["access_token"] == access_token:
                    record.update(facts)
                    return
