"""What Zoho's accounts server remembers: clients, grant codes, refresh tokens and access tokens, each
with the Zoho time (clock.py) it was issued at and its state. The rules that move them are in
accounts.py."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Deque, List, Optional

# A refresh token's states: usable; revoked by its owner (`/oauth/v2/token/revoke`); deleted by Zoho when
# the user's and client's 21st refresh token was issued.
LIVE, REVOKED, DELETED = "live", "revoked", "deleted"
# An access token's states besides live: evicted (its refresh token's 16th live one was issued), and
# dead with its refresh token (revoked or deleted). Expiry is not a state: it is read off the clock.
EVICTED, WITH_REFRESH_TOKEN = "evicted", "refresh token gone"


@dataclass
class Client:
    """An API client registered in Zoho's console."""

    client_id: str
    secret: str


@dataclass
class GrantCode:
    """A grant token (authorization code) from a user's consent: single use, valid for a while."""

    code: str
    client_id: str
    email: str
    issued_at: float
    spent: bool = False
    # Its age, in Zoho seconds, when it was exchanged (how close a time-scaled test came to its expiry).
    age_at_exchange: Optional[float] = None


@dataclass
class RefreshToken:
    """A refresh token: belongs to one user and client; mints access tokens within its limits."""

    token: str
    client_id: str
    email: str
    created_at: float
    state: str = LIVE
    # Zoho times of the access tokens it minted by refresh that may still count in the current window.
    minted: Deque[float] = field(default_factory=deque)
    # Its access tokens that were live when last looked at, oldest first.
    live: List[str] = field(default_factory=list)
    # The last access token it minted (by its grant's exchange or by refresh): what the next refresh replaces.
    newest: Optional[str] = None
    refreshes: int = 0
    access_denied: int = 0
    refused: int = 0
    evicted: int = 0


@dataclass
class AccessToken:
    """An access token, as a CRM call presents it."""

    token: str
    refresh_token: str
    email: str
    expires_at: float
    state: str = LIVE
    # When it was minted: Zoho seconds, and real seconds since the mock started (clients count its expiry
    # from the moment they receive it, on their own clocks, which pauses and advances do not move).
    issued_at: float = 0.0
    issued_real: float = 0.0
