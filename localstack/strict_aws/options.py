"""The model's options: every behaviour is switchable, and the command line that sets them."""

from __future__ import annotations

import argparse
import re
from dataclasses import dataclass
from typing import Optional


@dataclass
class Options:
    lag: float = 0.0
    lag_floor: float = 0.0
    tag_lag: Optional[float] = None
    tag_lag_floor: Optional[float] = None
    uneven_pages: bool = False
    empty_first_pages: bool = False
    version_quota: Optional[int] = None
    version_window: float = 24 * 3600.0
    deny_read: Optional[re.Pattern[str]] = None
    decryption_failure: Optional[re.Pattern[str]] = None
    throttle: float = 0.0
    seed: int = 0


def parse(argv: list[str], description: str = "") -> tuple[argparse.Namespace, Options]:
    """The command line: where LocalStack is, where to listen, and the model's options."""
    p = argparse.ArgumentParser(prog="strict-aws", description=description)
    p.add_argument("--upstream", default="http://127.0.0.1:4566", help="LocalStack's endpoint")
    p.add_argument("--port", type=int, default=4599, help="port to listen on, on 127.0.0.1 (0: any free one)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--lag", type=float, default=0.0, help="listing lag bound, seconds (AWS: 300)")
    p.add_argument("--lag-floor", type=float, default=0.0, help="least listing lag, seconds")
    p.add_argument("--tag-lag", type=float, default=None, help="tag-change lag bound (default: --lag)")
    p.add_argument("--tag-lag-floor", type=float, default=None, help="least tag-change lag (default: --lag-floor)")
    p.add_argument("--uneven-pages", action="store_true", help="short and empty pages, with NextToken")
    p.add_argument("--empty-first-pages", action="store_true", help="every listing starts with an empty page")
    p.add_argument("--version-quota", type=int, default=None, help="value writes per secret per window (AWS: 100)")
    p.add_argument("--version-window", type=float, default=24 * 3600.0, help="seconds (AWS: 86400)")
    p.add_argument("--deny-read", default=None, help="regex: these secrets are listed but not readable")
    p.add_argument("--decryption-failure", default=None, help="regex: reading these fails to decrypt")
    p.add_argument("--throttle", type=float, default=0.0, help="probability of ThrottlingException")
    a = p.parse_args(argv)
    return a, Options(
        lag=a.lag,
        lag_floor=a.lag_floor,
        tag_lag=a.tag_lag,
        tag_lag_floor=a.tag_lag_floor,
        uneven_pages=a.uneven_pages,
        empty_first_pages=a.empty_first_pages,
        version_quota=a.version_quota,
        version_window=a.version_window,
        deny_read=re.compile(a.deny_read) if a.deny_read else None,
        decryption_failure=re.compile(a.decryption_failure) if a.decryption_failure else None,
        throttle=a.throttle,
        seed=a.seed,
    )
