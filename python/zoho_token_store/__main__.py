"""The operator tool: `zoho-token-store ...` or `python -m zoho_token_store ...` (keygen, import, list, find,
rotate, retire, refresh, ...; `--help` lists them). The Rust crate's own tool, run through the native
module: the same commands, output and exit codes as the Rust binary, and no Rust needed."""

from __future__ import annotations

import sys

from zoho_token_store import _native


def main() -> None:
    """Runs the tool with this process's arguments and exits with its exit code."""
    # What Python printed so far goes out before the tool writes to the same streams.
    sys.stdout.flush()
    sys.stderr.flush()
    sys.exit(_native.cli(["zoho-token-store", *sys.argv[1:]]))


if __name__ == "__main__":
    main()
