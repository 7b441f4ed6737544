"""The CRM calls the SDKs make on their own: `GET /crm/v8/users?type=CurrentUser` (who signed in: the
Python SDK names a user `<email>:<org zgid>` from it and the next call) and `GET /crm/v8/org`. Both need
a live access token (accounts.py); any other token answers HTTP 401 `INVALID_TOKEN`, as Zoho does for an
expired, evicted or revoked one."""

from __future__ import annotations

from typing import Dict, Mapping, Tuple

from .accounts import Accounts

INVALID_TOKEN = {"code": "INVALID_TOKEN", "details": {}, "message": "invalid oauth token", "status": "error"}


class Crm:
    """One organization (`org` is its zgid) whose users are whoever the accounts server signed in."""

    def __init__(self, accounts: Accounts, org: str, company: str) -> None:
        self.accounts = accounts
        self.org = org
        self.company = company
        self.user_ids: Dict[str, str] = {}

    def answer(self, path: str, query: Mapping[str, str], authorization: str) -> Tuple[int, Dict[str, object]]:
        """(HTTP status, JSON body) for `GET <path>?<query>` with that `Authorization` header."""
        known = path in ("/crm/v8/users", "/crm/v8/org")
        if not known:
            return 404, {"code": "INVALID_URL_PATTERN", "details": {}, "message": "the mock answers "
                         "/crm/v8/users?type=CurrentUser and /crm/v8/org only", "status": "error"}
        email = self.accounts.authorize(authorization)
        if email is None:
            return 401, INVALID_TOKEN
        user_id = self.user_ids.setdefault(email, str(len(self.user_ids) + 1))
        if path == "/crm/v8/users":
            if query.get("type") != "CurrentUser":
                return 400, {"code": "INVALID_DATA", "details": {"param": "type"},
                             "message": "the mock answers type=CurrentUser only", "status": "error"}
            name = email.split("@")[0]
            return 200, {"users": [{"id": user_id, "email": email, "full_name": name}]}
        return 200, {"org": [{"id": "1", "zgid": self.org, "company_name": self.company}]}
