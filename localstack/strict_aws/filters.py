"""Secrets Manager's filter semantics (ListSecrets, BatchGetSecretValue)."""

from __future__ import annotations

from typing import Any

from .state import Tags


def matches(filters: list[dict[str, Any]], name: str, tags: Tags) -> bool:
    """The service's filter semantics: prefix matching (case-sensitive), `!` negates, values within a
    filter OR'd, filters AND'd."""

    def one(key: str, value: str) -> bool:
        negate = value.startswith("!")
        value = value[1:] if negate else value
        if key == "name":
            hit = name.startswith(value)
        elif key == "tag-key":
            hit = any(k.startswith(value) for k in tags)
        elif key == "tag-value":
            hit = any(v.startswith(value) for v in tags.values())
        elif key == "all":
            low = value.lower()
            hit = name.lower().startswith(low) or any(
                k.lower().startswith(low) or v.lower().startswith(low) for k, v in tags.items()
            )
        else:
            raise ValueError(f"strict-aws does not model the filter key {key!r}")
        return hit != negate

    return all(any(one(f["Key"], v) for v in f.get("Values", [])) for f in filters)
