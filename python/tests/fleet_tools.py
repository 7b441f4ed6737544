"""What the fleet tests share: the strict AWS model (`localstack/strict-aws`) as a process, and clocks
shifted per process with Debian's `faketime`."""

from __future__ import annotations

import contextlib
import glob
import json
import subprocess
import urllib.request
from pathlib import Path
from typing import Dict, Iterator

import pytest

ROOT = Path(__file__).resolve().parents[2]


@contextlib.contextmanager
def strict_aws(upstream: str, *options: str) -> Iterator[str]:
    """The strict model in front of `upstream` with `options`, for the `with` block; yields its URL."""
    proxy = subprocess.Popen([str(ROOT / "localstack" / "strict-aws"), "--upstream", upstream, "--port", "0",
                              *options], stdout=subprocess.PIPE, text=True)
    try:
        line = proxy.stdout.readline().strip()
        assert line.startswith("strict-aws: listening on "), f"strict-aws did not start: {line!r}"
        yield line.removeprefix("strict-aws: listening on ")
    finally:
        proxy.kill()
        proxy.wait()


def strict_stats(url: str) -> dict:
    """What the strict model did so far (`GET /_strict/stats`)."""
    with urllib.request.urlopen(url + "/_strict/stats") as answer:
        return json.load(answer)


def shifted(offset: float) -> Dict[str, str]:
    """Environment variables that run a process with its wall clock `offset` seconds from the machine's
    (libfaketime preloaded: the process itself, not a wrapper, so it can be killed and read as usual;
    monotonic clocks stay true, as they do between real hosts)."""
    libraries = sorted(glob.glob("/usr/lib/*/faketime/libfaketimeMT.so.1"))
    if not libraries:
        pytest.fail("faketime is required (Debian: apt-get install faketime; .ci/run installs it)", pytrace=False)
    return {"LD_PRELOAD": libraries[0], "FAKETIME": f"{offset:+g}s", "FAKETIME_DONT_FAKE_MONOTONIC": "1"}
