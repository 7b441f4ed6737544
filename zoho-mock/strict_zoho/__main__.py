"""The launcher: `python3 -m strict_zoho` (or `zoho-mock/strict-zoho`). Its first line on standard output
is `strict-zoho: listening on http://127.0.0.1:PORT`; it serves until killed."""

from __future__ import annotations

import argparse
import sys
import threading
from typing import List

from .mock import StrictZoho


def parse(argv: List[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="strict-zoho", description="A mock Zoho as strict as Zoho: the accounts "
                                "server's OAuth rules and limits, and the CRM's current-user and org calls, on a "
                                "clock that can run faster (see strict_zoho/server.py for the endpoints).")
    p.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: any free one; the default)")
    p.add_argument("--scale", type=float, default=1.0,
                   help="Zoho's time runs this many times faster: tokens live 3600/S s, grants 180/S s, the "
                        "refresh window is 600/S s (e.g. 40: 90-second tokens)")
    p.add_argument("--email", default="alice@example.com", help="the user grants sign in by default")
    p.add_argument("--org", default="7001", help="the organization's zgid (the SDK names users email:zgid)")
    p.add_argument("--company", default="Mock", help="the organization's name")
    p.add_argument("--client-id", default="1000.CLIENT", help="the API client known from the start")
    p.add_argument("--client-secret", default="client-secret")
    p.add_argument("--grant", action="append", default=[], metavar="CODE",
                   help="a grant code issued at start for the client and user above (repeatable)")
    p.add_argument("--refresh-token", action="append", default=[], metavar="TOKEN",
                   help="a refresh token issued before the start, for the client and user above (repeatable)")
    return p.parse_args(argv)


def main(argv: List[str]) -> None:
    args = parse(argv)
    zoho = StrictZoho(scale=args.scale, email=args.email, org=args.org, company=args.company,
                      client_id=args.client_id, client_secret=args.client_secret, port=args.port)
    for code in args.grant:
        zoho.grant(code)
    for token in args.refresh_token:
        zoho.issue_refresh_token(token)
    zoho.start()
    print(f"strict-zoho: listening on {zoho.url}", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        zoho.stop()


if __name__ == "__main__":
    main(sys.argv[1:])
