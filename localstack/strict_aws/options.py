"""The model's options: every behaviour is switchable, and the command line that sets them."""

from __future__ import annotations

import argparse
import re
from dataclasses import dataclass
from typing import Optional


@dataclass
class Options:
    # Listings (listings.py): the lag bound and floor, tag changes apart, a tail past the bound now
    # and then, and whether unfiltered ListSecrets lags too.
    lag: float = 0.0
    lag_floor: float = 0.0
    tag_lag: Optional[float] = None
    tag_lag_floor: Optional[float] = None
    lag_tail_probability: float = 0.0
    lag_tail: Optional[float] = None
    unfiltered_lag: bool = True
    # Pages (pages.py).
    uneven_pages: bool = False
    empty_first_pages: bool = False
    # Versions (versions.py): the quota, the age below which AWS keeps a version, and the old count
    # (every write within the window, labels ignored) for comparison.
    version_quota: Optional[int] = None
    version_window: float = 24 * 3600.0
    version_count_writes: bool = False
    # Writes (writes.py): a write retried with its ClientRequestToken answered as AWS does (a
    # CreateSecret retry gets the first answer; another value under a used token is refused).
    idempotent_creates: bool = True
    # Deletion (deletion.py): seconds a forced delete takes to finish.
    force_delete_delay: float = 0.0
    # Reads (reads.py, listed.py).
    deny_read: Optional[re.Pattern[str]] = None
    decryption_failure: Optional[re.Pattern[str]] = None
    batch_deleted_errors: bool = True
    # Filters (filters.py): values checked as AWS checks them.
    validate_filters: bool = True
    # Throttling (throttling.py): at random, and AWS's rates per API family (scaled).
    throttle: float = 0.0
    rate_limits: bool = False
    rate_scale: float = 1.0
    seed: int = 0


def parse(argv: list[str], description: str = "") -> tuple[argparse.Namespace, Options]:
    """The command line: where LocalStack is, where to listen, and the model's options."""
    on_off = argparse.BooleanOptionalAction
    p = argparse.ArgumentParser(prog="strict-aws", description=description)
    p.add_argument("--upstream", default="http://127.0.0.1:4566", help="LocalStack's endpoint")
    p.add_argument("--port", type=int, default=4599, help="port to listen on, on 127.0.0.1 (0: any free one)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--lag", type=float, default=0.0, help="listing lag bound, seconds (AWS: 300)")
    p.add_argument("--lag-floor", type=float, default=0.0, help="least listing lag, seconds")
    p.add_argument("--tag-lag", type=float, default=None, help="tag-change lag bound (default: --lag)")
    p.add_argument("--tag-lag-floor", type=float, default=None, help="least tag-change lag (default: --lag-floor)")
    p.add_argument("--lag-tail-probability", type=float, default=0.0,
                   help="chance that a listing lags past its bound (default 0)")
    p.add_argument("--lag-tail", type=float, default=None,
                   help="how far past its bound such a lag reaches, seconds (default: the bound again)")
    p.add_argument("--unfiltered-lag", action=on_off, default=True,
                   help="unfiltered ListSecrets lags too, as filtered listings do (default on)")
    p.add_argument("--uneven-pages", action="store_true", help="short and empty pages, with NextToken")
    p.add_argument("--empty-first-pages", action="store_true", help="every listing starts with an empty page")
    p.add_argument("--version-quota", type=int, default=None, help="versions a secret may hold (AWS: 100)")
    p.add_argument("--version-window", type=float, default=24 * 3600.0,
                   help="age below which an unlabelled version is kept, seconds (AWS: 86400)")
    p.add_argument("--version-count-writes", action="store_true",
                   help="count every value write within the window, labelled or not (the old count)")
    p.add_argument("--idempotent-creates", action=on_off, default=True,
                   help="CreateSecret retried with its ClientRequestToken returns the first answer, and "
                        "another value under a used token is refused, as on AWS (default on)")
    p.add_argument("--force-delete-delay", type=float, default=0.0,
                   help="seconds a forced delete takes to finish: the name is still being deleted (default 0)")
    p.add_argument("--deny-read", default=None, help="regex: these secrets are listed but not readable")
    p.add_argument("--decryption-failure", default=None, help="regex: reading these fails to decrypt")
    p.add_argument("--batch-deleted-errors", action=on_off, default=True,
                   help="a filtered batch names secrets deleted since its lagged listing in Errors[] (default on)")
    p.add_argument("--validate-filters", action=on_off, default=True,
                   help="filters checked as AWS checks them (default on)")
    p.add_argument("--throttle", type=float, default=0.0, help="probability of ThrottlingException")
    p.add_argument("--rate-limits", action="store_true",
                   help="AWS's request rates per API family, ThrottlingException past them")
    p.add_argument("--rate-scale", type=float, default=1.0,
                   help="multiplies every rate of --rate-limits (0.01: writes at 0.5 per second)")
    a = p.parse_args(argv)
    return a, Options(
        lag=a.lag,
        lag_floor=a.lag_floor,
        tag_lag=a.tag_lag,
        tag_lag_floor=a.tag_lag_floor,
        lag_tail_probability=a.lag_tail_probability,
        lag_tail=a.lag_tail,
        unfiltered_lag=a.unfiltered_lag,
        uneven_pages=a.uneven_pages,
        empty_first_pages=a.empty_first_pages,
        version_quota=a.version_quota,
        version_window=a.version_window,
        version_count_writes=a.version_count_writes,
        idempotent_creates=a.idempotent_creates,
        force_delete_delay=a.force_delete_delay,
        deny_read=re.compile(a.deny_read) if a.deny_read else None,
        decryption_failure=re.compile(a.decryption_failure) if a.decryption_failure else None,
        batch_deleted_errors=a.batch_deleted_errors,
        validate_filters=a.validate_filters,
        throttle=a.throttle,
        rate_limits=a.rate_limits,
        rate_scale=a.rate_scale,
        seed=a.seed,
    )
