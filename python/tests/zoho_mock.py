"""A local stand-in for Zoho: the accounts server's token endpoint and the CRM calls the SDK makes,
counting what it is asked, so tests assert how many grant exchanges and refreshes happened."""

from __future__ import annotations

import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Dict, List, Tuple
from urllib.parse import parse_qs, urlparse


class ZohoMock:
    """Serves `POST /oauth/v2/token`, `GET /crm/v8/users?type=CurrentUser`, `GET /crm/v8/org`."""

    def __init__(self, email: str = "alice@example.com", org: str = "7001") -> None:
        self.email = email
        self.org = org
        self.lock = threading.Condition()
        # When set, refresh answers wait until this many refresh requests have arrived (30 s at most,
        # then the answer says so): every caller has then found the old token before any gets a new one.
        self.hold_refreshes_until = 0
        # The same for grant exchanges.
        self.hold_exchanges_until = 0
        # Seconds an access token lives (Zoho: 3600; a soak scales the hour down).
        self.lifetime = 3600
        # When set, the next refresh request is held (its sender can be killed mid-refresh, holding the
        # fleet's lease) until `release_hung()`; `hung` is set once it arrived.
        self.hang_next_refresh = False
        self.hung = threading.Event()
        self.released = False
        self.exchanges: List[str] = []  # grant codes exchanged
        self.refreshes: List[str] = []  # refresh tokens used
        self.crm_calls: List[Tuple[str, str]] = []  # (path, access token) of every CRM call
        self.issued = 0
        self.spent_codes: Dict[str, bool] = {}
        mock = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def reply(self, status: int, body: object) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length", 0))
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                if urlparse(self.path).path != "/oauth/v2/token":
                    return self.reply(404, {"error": "not found"})
                self.reply(200, mock.token(form))

            def do_GET(self) -> None:  # noqa: N802
                url = urlparse(self.path)
                auth = self.headers.get("Authorization", "")
                with mock.lock:
                    mock.crm_calls.append((url.path, auth.removeprefix("Zoho-oauthtoken ")))
                if url.path == "/crm/v8/users":
                    return self.reply(200, {"users": [{"id": "1", "email": mock.email}]})
                if url.path == "/crm/v8/org":
                    return self.reply(200, {"org": [{"id": "1", "zgid": mock.org, "company_name": "Mock"}]})
                self.reply(404, {"code": "INVALID_URL_PATTERN", "status": "error", "message": "no such path"})

        class Server(ThreadingHTTPServer):
            def handle_error(self, request: object, client_address: object) -> None:
                # A caller killed mid-request (a test's crashed lease holder) is expected, not an error.
                if not isinstance(sys.exc_info()[1], ConnectionError):
                    super().handle_error(request, client_address)

        self.server = Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.accounts_url = self.url + "/oauth/v2/token"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def token(self, form: Dict[str, str]) -> Dict[str, object]:
        with self.lock:
            self.issued += 1
            access = f"access-{self.issued}"
            if form.get("grant_type") == "authorization_code":
                code = form.get("code", "")
                self.exchanges.append(code)
                self.lock.notify_all()
                if not self.lock.wait_for(lambda: len(self.exchanges) >= self.hold_exchanges_until, 30):
                    return {"error": "held for 30 s: fewer exchanges came than the test expected"}
                if self.spent_codes.get(code):  # a grant token is single-use
                    return {"error": "invalid_code"}
                self.spent_codes[code] = True
                return {"access_token": access, "refresh_token": f"refresh-for-{code}",
                        "expires_in": self.lifetime, "api_domain": self.url, "token_type": "Bearer"}
            if form.get("grant_type") == "refresh_token":
                self.refreshes.append(form.get("refresh_token", ""))
                self.lock.notify_all()
                if self.hang_next_refresh:
                    self.hang_next_refresh = False
                    self.hung.set()
                    self.lock.wait_for(lambda: self.released, 60)
                    return {"error": "held: its caller was killed"}
                if not self.lock.wait_for(lambda: len(self.refreshes) >= self.hold_refreshes_until, 30):
                    return {"error": "held for 30 s: fewer refreshes came than the test expected"}
                return {"access_token": access, "expires_in": self.lifetime, "api_domain": self.url,
                        "token_type": "Bearer"}
        return {"error": "unsupported_grant_type"}

    def release_hung(self) -> None:
        with self.lock:
            self.released = True
            self.lock.notify_all()

    def __enter__(self) -> "ZohoMock":
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release_hung()
        self.server.shutdown()
        self.server.server_close()
