"""The model's own endpoints: `GET /_strict/stats` (what it did) and `POST /_strict/advance` (its time)."""

from __future__ import annotations

from typing import Any

from .model import Model


def stats(m: Model) -> dict[str, Any]:
    """Counters, the versions each secret holds, every version written per name, calls per operation,
    and the requests refused past each API family's rate."""
    with m.lock:
        out: dict[str, Any] = dict(m.stats)
    out["versions"] = m.versions_report()
    with m.lock:
        out["versions_written"] = dict(m.versions_written)
        out["calls"] = dict(m.calls)
        out["rate_limited_by_family"] = dict(m.rate_limited_by_family)
    return out


def advance(m: Model, request: dict[str, Any]) -> None:
    """Moves the model's time on by `seconds`: the listings show what they would then."""
    m.advance(float(request["seconds"]))
