"""`StrictZoho`: the mock as a whole, served from a thread of this process (tests, examples) or by the
launcher (`strict-zoho`, for other languages). The same object answers the HTTP control endpoints.

    with StrictZoho(scale=40) as zoho:          # 90-second tokens, a 15-second refresh window
        code = zoho.grant()                     # a user's consent: a fresh grant code, valid 4.5 s here
        ...point the SDK at zoho.url / zoho.accounts_url...
        zoho.stats()["access_denied"]

Clients, users and grants: the mock knows one API client from the start (`client_id`, `client_secret`);
`grant` and `issue_refresh_token` register another when named. A grant or refresh token belongs to a user
(`email`, default the mock's); CRM calls answer as that user, in the one organization `org`.
"""

from __future__ import annotations

import contextlib
import threading
from typing import Dict, Iterable, Iterator, List, Optional, Tuple

from .accounts import GRANT_VALIDITY, Accounts
from .clock import Clock
from .crm import Crm
from .hooks import Hooks
from .journal import Journal
from .server import ZohoServer

TOKEN_KINDS = {"authorization_code": "exchange", "refresh_token": "refresh"}


class StrictZoho:
    """A mock Zoho (accounts server and CRM) that enforces Zoho's documented OAuth limits, on a clock
    `scale` times faster than real time (accounts.py has the rules, clock.py the time)."""

    grant_validity = GRANT_VALIDITY

    def __init__(self, scale: float = 1.0, email: str = "alice@example.com", org: str = "7001",
                 company: str = "Mock", client_id: str = "1000.CLIENT", client_secret: str = "client-secret",
                 port: int = 0, clock: Optional[Clock] = None) -> None:
        self.clock = clock or Clock(scale)
        self.email, self.org = email, org
        self.client_id, self.client_secret = client_id, client_secret
        self.accounts = Accounts(self.clock, email)
        self.accounts.register_client(client_id, client_secret)
        self.crm = Crm(self.accounts, org, company)
        self.hooks = Hooks()
        self.journal = Journal()
        self.server = ZohoServer(port, self)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.accounts_url = self.url + "/oauth/v2/token"
        self.accounts.api_domain = self.url
        self._thread = threading.Thread(target=self.server.serve_forever, name="strict-zoho", daemon=True)

    # ---- running ---------------------------------------------------------------------------------------

    def start(self) -> "StrictZoho":
        self._thread.start()
        return self

    def stop(self) -> None:
        self.release_hung()
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> "StrictZoho":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ---- Zoho's token endpoint, with the test's hooks around it -----------------------------------------

    def token_request(self, form: Dict[str, str]) -> Dict[str, object]:
        """`POST /oauth/v2/token`: recorded, acted on at once, answered when the hooks allow."""
        self.journal.token_request(form)
        kind = TOKEN_KINDS.get(form.get("grant_type", ""))
        ticket = self.hooks.arrived(kind) if kind else None
        answer = self.accounts.token(form)
        if ticket is not None:
            if ticket.hang and "access_token" in answer:
                # Minted, its answer held: a test that kills the caller meanwhile knows which token nobody got.
                self.accounts.note(str(answer["access_token"]), hung=True)
            held = self.hooks.wait(ticket)
            if held:
                return {"error": held}
        return answer

    # ---- what a test sets up ---------------------------------------------------------------------------

    def grant(self, code: Optional[str] = None, *, client_id: Optional[str] = None,
              client_secret: Optional[str] = None, email: Optional[str] = None) -> str:
        """Issues a grant code now (as a user's consent would), valid for 180 Zoho seconds: `code` when the
        test names it up front, else a fresh one. For the mock's client unless another is named (which
        registers it). Returns the code."""
        return self.accounts.issue_grant(client_id or self.client_id,
                                         client_secret or self._secret_for(client_id), email, code)

    def issue_refresh_token(self, token: Optional[str] = None, *, client_id: Optional[str] = None,
                            client_secret: Optional[str] = None, email: Optional[str] = None) -> str:
        """Registers a refresh token issued before the test (one it stores up front), for `email` (default
        the mock's user) and the client; it counts among the user's 20. Returns the token."""
        return self.accounts.issue_refresh_token(client_id or self.client_id,
                                                 client_secret or self._secret_for(client_id), email, token)

    def _secret_for(self, client_id: Optional[str]) -> str:
        if client_id is None or client_id == self.client_id:
            return self.client_secret
        known = self.accounts.clients.get(client_id)
        if known is None:
            raise ValueError(f"client {client_id!r} is new: name its client_secret")
        return known.secret

    def advance(self, seconds: float) -> float:
        """Moves Zoho's clock on `seconds` Zoho (unscaled) seconds at once: `advance(3600)` expires every
        token issued so far, `advance(600)` empties every refresh window. Returns Zoho's time now."""
        return self.clock.advance(seconds)

    def pause(self) -> None:
        """Holds Zoho's time still until `resume` (clock.py says when a test wants that)."""
        self.clock.pause()

    def resume(self) -> None:
        self.clock.resume()

    @contextlib.contextmanager
    def paused(self) -> Iterator[None]:
        """Zoho's time stands still for the `with` block."""
        self.pause()
        try:
            yield
        finally:
            self.resume()

    # ---- what a test reads -----------------------------------------------------------------------------

    def stats(self) -> Dict[str, object]:
        """What `GET /_zoho/stats` answers: accounts.py's counts, per refresh token too, and the hooks."""
        return {**self.accounts.report(), "hooks": self.hooks.report()}

    @property
    def lifetime(self) -> int:
        """Real seconds an access token lives (`expires_in` in token answers): 3600 / scale, rounded."""
        return self.accounts.expires_in

    @property
    def issued(self) -> List[Dict[str, object]]:
        """Every access token minted, in order, each with what it replaced (accounts.py `_issue_record`)."""
        return self.stats()["issued"]  # type: ignore[return-value]

    def early_refreshes(self, refresh_token: str, within: float,
                        ignore: Iterable[str] = ()) -> List[Dict[str, object]]:
        """The refreshes of `refresh_token` Zoho answered while the access token it had minted before
        (by refresh or by the grant's exchange) was unexpired and had more than `within` real seconds
        left as its clients count it (from its issue): each one a second refresh of one expiry, whatever
        the scheduling. `within` is the fleet's refresh margin plus how far its clocks disagree (a process
        refreshes when its own clock says less than the margin is left). Tokens in `ignore` (minted, but
        nobody got the answer: its caller was killed meanwhile) do not count as replaced; the one before
        them does. Each refresh found comes with `previous` and `previous_left_real`."""
        ignored = set(ignore)
        early: List[Dict[str, object]] = []
        previous: Optional[Dict[str, object]] = None
        for record in self.issued:
            if record["refresh_token"] != refresh_token:
                continue
            if record["by"] == "refresh" and previous is not None:
                left = float(previous["real"]) + float(previous["expires_in"]) - float(record["real"])
                expired = float(record["at"]) >= float(previous["at"]) + self.accounts.lifetime
                if left > within and not expired:
                    early.append({**record, "previous": previous["access_token"], "previous_left_real": left})
            if record["access_token"] not in ignored:
                previous = record
        return early

    @property
    def exchanges(self) -> List[str]:
        """Grant codes presented for exchange, in order, refused ones too."""
        return self.journal.exchanges

    @property
    def refreshes(self) -> List[str]:
        """Refresh tokens presented for refresh, in order, refused and denied ones too."""
        return self.journal.refreshes

    @property
    def crm_calls(self) -> List[Tuple[str, str]]:
        """(path, access token) of every CRM call, in order."""
        return self.journal.crm_calls

    # ---- hooks (hooks.py) ------------------------------------------------------------------------------

    @property
    def hold_refreshes_until(self) -> int:
        return self.hooks.hold_refreshes_until

    @hold_refreshes_until.setter
    def hold_refreshes_until(self, count: int) -> None:
        self.hooks.configure({"hold_refreshes_until": count})

    @property
    def hold_exchanges_until(self) -> int:
        return self.hooks.hold_exchanges_until

    @hold_exchanges_until.setter
    def hold_exchanges_until(self, count: int) -> None:
        self.hooks.configure({"hold_exchanges_until": count})

    @property
    def hang_next_refresh(self) -> bool:
        return self.hooks.hang_next_refresh

    @hang_next_refresh.setter
    def hang_next_refresh(self, value: bool) -> None:
        self.hooks.hang_next_refresh = value

    @property
    def hung(self) -> threading.Event:
        """Set once the refresh `hang_next_refresh` holds has arrived."""
        return self.hooks.hung

    def release_hung(self) -> None:
        self.hooks.release()
