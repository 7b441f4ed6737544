"""`python3 -m strict_aws` (what `localstack/strict-aws` runs): the proxy on a port, until stopped."""

from __future__ import annotations

import sys
from http.server import ThreadingHTTPServer

from . import __doc__ as overview
from .model import Model
from .options import parse
from .proxy import Proxy
from .server import Handler


def main(argv: list[str]) -> None:
    args, options = parse(argv, (overview or "").split("\n\n")[0])
    Handler.proxy = Proxy(args.upstream, Model(options))
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    print(f"strict-aws: listening on http://127.0.0.1:{server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main(sys.argv[1:])
