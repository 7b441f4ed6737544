"""A small stand-in for Zoho, for the examples: the accounts server's token endpoint (grant exchange and
refresh) and the two CRM calls the examples make (the SDK's CurrentUser lookup and the organization).
Standard library only; every token it issues is made up.

Run on its own (`python3 mock_zoho.py`, prints its URL) or start it in a thread with `MockZoho()`.
`GET /_mock/stats` counts what it was asked: grant exchanges, refreshes, CRM calls.
"""

from __future__ import annotations

import json
import secrets
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse


class MockZoho:
    def __init__(self, port: int = 0, email: str = "ada@example.com", zgid: str = "7001") -> None:
        self.stats = {"exchanges": 0, "refreshes": 0, "crm_calls": 0, "refused": 0}
        # Requests arrive on threads of their own: one at a time through the counts and spent codes, so
        # two processes racing with one grant see Zoho's answer (one exchange, one refusal).
        lock = threading.Lock()
        issued: set[str] = set()
        spent: set[str] = set()
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

            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(int(self.headers["Content-Length"])).decode()).items()}
                with lock:
                    self.token(form)

            def token(self, form: dict[str, str]) -> None:
                access = "1000." + secrets.token_hex(16)
                issued.add(access)
                if form.get("grant_type") == "authorization_code":
                    # Zoho accepts a grant token once.
                    if form.get("code") in spent:
                        mock.stats["refused"] += 1
                        return self.reply(200, {"error": "invalid_code"})
                    spent.add(form.get("code", ""))
                    mock.stats["exchanges"] += 1
                    return self.reply(200, {"access_token": access, "refresh_token": "1000." + secrets.token_hex(16),
                                            "api_domain": mock.url, "token_type": "Bearer", "expires_in": 3600})
                mock.stats["refreshes"] += 1
                self.reply(200, {"access_token": access, "api_domain": mock.url, "token_type": "Bearer", "expires_in": 3600})

            def do_GET(self) -> None:  # noqa: N802
                path = urlparse(self.path).path
                if path == "/_mock/stats":
                    return self.reply(200, mock.stats)
                with lock:
                    if self.headers.get("Authorization", "").removeprefix("Zoho-oauthtoken ") not in issued:
                        return self.reply(401, {"code": "INVALID_TOKEN", "status": "error", "message": "invalid oauth token"})
                    mock.stats["crm_calls"] += 1
                if path == "/crm/v8/users":
                    return self.reply(200, {"users": [{"id": "1", "email": email, "full_name": "Ada Lovelace"}]})
                if path == "/crm/v8/org":
                    return self.reply(200, {"org": [{"id": "1", "zgid": zgid, "company_name": "Analytical Engines Ltd"}]})
                self.reply(404, {"code": "INVALID_URL_PATTERN", "status": "error", "message": "not in the mock"})

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.accounts_url = self.url + "/oauth/v2/token"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


if __name__ == "__main__":
    import sys

    zoho = MockZoho(int(sys.argv[1]) if len(sys.argv) > 1 else 0)
    print(f"mock zoho: listening on {zoho.url}", flush=True)
    threading.Event().wait()
