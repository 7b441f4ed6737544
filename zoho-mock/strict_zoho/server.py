"""The HTTP side: Zoho's endpoints and the mock's control endpoints, over `http.server`.

Zoho's (paths as Zoho serves them; the accounts server and the CRM share one address here):
    POST /oauth/v2/token          grant exchange and refresh (form body or query string, as Zoho takes both)
    POST /oauth/v2/token/revoke   `token=<refresh token>` (query string, as Zoho documents, or form body)
    GET  /crm/v8/users?type=CurrentUser, GET /crm/v8/org

The mock's (JSON in, JSON out; mock.py documents each):
    POST /_zoho/grant           {"code"?, "client_id"?, "client_secret"?, "email"?} -> {"code", "valid_for"}
    POST /_zoho/refresh_token   {"refresh_token"?, "client_id"?, "client_secret"?, "email"?} -> {"refresh_token"}
    POST /_zoho/advance         {"seconds": S}: Zoho's clock moves on S Zoho (unscaled) seconds
    POST /_zoho/clock           {"paused": true|false}: Zoho's time stands still, or runs again
    POST /_zoho/hooks           any of hooks.SETTINGS -> the hooks now
    POST /_zoho/release         the hung refresh answers
    GET  /_zoho/stats           counts (accounts.py `report`) and the hooks
    GET  /_zoho/journal         every grant code, refresh token and CRM call asked, in order
"""

from __future__ import annotations

import json
import re
import sys
from email import policy
from email.parser import BytesParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Dict, Tuple
from urllib.parse import parse_qs, urlparse


def form_of(text: str) -> Dict[str, str]:
    return {key: values[0] for key, values in parse_qs(text, keep_blank_values=True).items()}


def multipart_form_of(content_type: str, body: bytes) -> Dict[str, str]:
    """The fields of a `multipart/form-data` body, as Zoho reads them: the Node.js and TypeScript SDKs
    post their token requests so (a `FormData`), where the Python SDK and the crate post a URL-encoded
    form."""
    message = BytesParser(policy=policy.HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + body)
    form: Dict[str, str] = {}
    if not message.is_multipart():
        return form  # no part read: a form without fields
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if name is not None and name not in form:
            form[name] = part.get_content().rstrip("\r\n") if part.get_content_maintype() == "text" else ""
    return form


class ZohoServer(ThreadingHTTPServer):
    """Serves `zoho` (a mock.StrictZoho) on 127.0.0.1."""

    daemon_threads = True

    def __init__(self, port: int, zoho: Any) -> None:
        self.zoho = zoho
        super().__init__(("127.0.0.1", port), Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A caller killed mid-request (a test's crashed lease holder) is expected, not an error.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


# The largest request body the mock reads: a token request is a few hundred bytes.
MAX_BODY = 1 << 20


def chunk_size(line: bytes) -> int:
    """A chunk's size line as HTTP/1.1 writes it: hex digits, then optional extensions after `;`."""
    digits = line.split(b";")[0].strip()
    if not re.fullmatch(rb"[0-9A-Fa-f]{1,8}", digits):
        raise ValueError(f"chunk size {digits[:16]!r} is not hex")
    return int(digits, 16)


class Handler(BaseHTTPRequestHandler):
    server: ZohoServer
    # A client that stops sending mid-request (a short chunk, a missing body) frees its thread.
    timeout = 30

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        pass

    def reply(self, status: int, body: object) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json;charset=UTF-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def raw_body(self) -> bytes:
        """The request's body; ValueError for a malformed one (a chunk size that is not plain hex, a
        negative length) or one past MAX_BODY, which no token request comes near."""
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks, total = [], 0
            while size := chunk_size(self.rfile.readline()):
                total += size
                if total > MAX_BODY:
                    raise ValueError("body too large")
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                pass  # trailers
            return b"".join(chunks)
        length = self.headers.get("Content-Length") or "0"
        if not length.isdigit() or int(length) > MAX_BODY:
            raise ValueError("bad Content-Length")
        return self.rfile.read(int(length))

    def form(self, url: Any, body: bytes) -> Dict[str, str]:
        """The request's form: its query, then its body's fields (URL-encoded or multipart) over it."""
        content_type = self.headers.get("Content-Type", "")
        if content_type.lower().startswith("multipart/form-data"):
            fields = multipart_form_of(content_type, body)
        else:
            fields = form_of(body.decode())
        return {**form_of(url.query), **fields}

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        url = urlparse(self.path)
        try:
            raw = self.raw_body()
        except ValueError as e:  # what an HTTP server answers a malformed body
            self.close_connection = True
            return self.reply(400, {"error": f"malformed body: {e}"})
        body = raw.decode(errors="replace")
        zoho = self.server.zoho
        if url.path == "/oauth/v2/token":
            return self.reply(200, zoho.token_request(self.form(url, raw)))
        if url.path == "/oauth/v2/token/revoke":
            return self.reply(*zoho.accounts.revoke(self.form(url, raw).get("token", "")))
        if url.path.startswith("/_zoho/"):
            try:
                return self.reply(*self.control(url.path, json.loads(body) if body.strip() else {}))
            except (ValueError, TypeError, KeyError) as e:
                return self.reply(400, {"error": f"{type(e).__name__}: {e}"})
        self.reply(404, {"error": "not a path of the mock"})

    def control(self, path: str, request: Dict[str, Any]) -> Tuple[int, object]:
        zoho = self.server.zoho
        if path == "/_zoho/grant":
            code = zoho.grant(request.get("code"), client_id=request.get("client_id"),
                              client_secret=request.get("client_secret"), email=request.get("email"))
            return 200, {"code": code, "valid_for": zoho.clock.real(zoho.grant_validity)}
        if path == "/_zoho/refresh_token":
            token = zoho.issue_refresh_token(request.get("refresh_token"), client_id=request.get("client_id"),
                                             client_secret=request.get("client_secret"), email=request.get("email"))
            return 200, {"refresh_token": token}
        if path == "/_zoho/advance":
            return 200, {"now": zoho.advance(float(request["seconds"]))}
        if path == "/_zoho/clock":
            if request["paused"]:
                zoho.pause()
            else:
                zoho.resume()
            return 200, zoho.stats()["clock"]
        if path == "/_zoho/hooks":
            return 200, zoho.hooks.configure(request)
        if path == "/_zoho/release":
            zoho.release_hung()
            return 200, zoho.hooks.report()
        return 404, {"error": "no such control endpoint"}

    def do_GET(self) -> None:  # noqa: N802
        url = urlparse(self.path)
        zoho = self.server.zoho
        if url.path == "/_zoho/stats":
            return self.reply(200, zoho.stats())
        if url.path == "/_zoho/journal":
            return self.reply(200, zoho.journal.report())
        authorization = self.headers.get("Authorization", "")
        zoho.journal.crm_call(url.path, authorization)
        self.reply(*zoho.crm.answer(url.path, form_of(url.query), authorization))
