"""A mock Zoho as strict as Zoho: the accounts server's OAuth rules and limits, and the CRM calls the SDKs
make, on a clock that can run faster than real time. Standard library only (Python 3.9+).

In a process: `from strict_zoho import StrictZoho` (mock.py). As a process: `zoho-mock/strict-zoho --help`.
"""

from .accounts import (ACCESS_TOKEN_LIFETIME, GRANT_VALIDITY, LIVE_ACCESS_TOKENS, REFRESH_TOKENS_PER_USER,
                       REFRESH_WINDOW, REFRESHES_PER_WINDOW, Accounts)
from .clock import Clock
from .mock import StrictZoho

__all__ = ["ACCESS_TOKEN_LIFETIME", "GRANT_VALIDITY", "LIVE_ACCESS_TOKENS", "REFRESH_TOKENS_PER_USER",
           "REFRESH_WINDOW", "REFRESHES_PER_WINDOW", "Accounts", "Clock", "StrictZoho"]
