"""What the mock was asked, in order, whatever it answered: grant codes presented for exchange, refresh
tokens presented for refresh, and CRM calls with the access token each carried. Tests assert on these
("one refresh for the fleet", "every process used the fresh token")."""

from __future__ import annotations

import threading
from typing import Dict, List, Tuple


class Journal:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.exchanges: List[str] = []
        self.refreshes: List[str] = []
        self.crm_calls: List[Tuple[str, str]] = []

    def token_request(self, form: Dict[str, str]) -> None:
        with self.lock:
            if form.get("grant_type") == "authorization_code":
                self.exchanges.append(form.get("code", ""))
            elif form.get("grant_type") == "refresh_token":
                self.refreshes.append(form.get("refresh_token", ""))

    def crm_call(self, path: str, authorization: str) -> None:
        prefix = "Zoho-oauthtoken "
        with self.lock:
            self.crm_calls.append((path, authorization[len(prefix):] if authorization.startswith(prefix)
                                   else authorization))

    def report(self) -> Dict[str, object]:
        with self.lock:
            return {"exchanges": list(self.exchanges), "refreshes": list(self.refreshes),
                    "crm_calls": [list(call) for call in self.crm_calls]}
