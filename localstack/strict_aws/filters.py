"""Secrets Manager's filters (ListSecrets, BatchGetSecretValue): how they match, and what AWS refuses.

AWS checks a request's filters against its API model before it lists anything (API_Filter,
API_ListSecrets, API_BatchGetSecretValue): at most 10 filters; a key from its enum; 1 to 10 values per
filter, each at most 512 characters of letters, digits, spaces and `: _ @ / + = . - !` (a leading `!`
negates). A constraint broken is a `ValidationException` listing every broken one; a filter without a
key or without values is an `InvalidParameterException`. LocalStack checks none of it, and answers an
empty listing instead.
"""

from __future__ import annotations

import re
from typing import Any, Optional

from .errors import error_body
from .state import Tags

KEYS = ("description", "name", "tag-key", "tag-value", "primary-region", "owning-service", "all")
MAX_FILTERS = 10
MAX_VALUES = 10
MAX_VALUE_LENGTH = 512
VALUE_PATTERN = r"^\!?[a-zA-Z0-9 :_@\/\+\=\.\-\!]*$"
# The same, whole value matched (`$` would let a trailing newline through).
VALUE_RE = re.compile(r"\!?[a-zA-Z0-9 :_@\/\+\=\.\-\!]*\Z")
# Most results a page may ask for, per operation.
MAX_RESULTS = {"ListSecrets": 100, "BatchGetSecretValue": 20}


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


def refusal(operation: str, payload: dict[str, Any]) -> Optional[tuple[int, dict[str, Any]]]:
    """AWS's answer to a listing request whose filters (or page size) it refuses, or None."""
    if operation not in MAX_RESULTS:
        return None
    filters = payload.get("Filters")
    if operation == "BatchGetSecretValue" and filters is not None and payload.get("SecretIdList") is not None:
        return error_body("InvalidParameterException", "You can't specify both SecretIdList and Filters.")
    broken: list[str] = []
    if filters is not None:
        if len(filters) > MAX_FILTERS:
            broken.append(
                f"Value '{filters}' at 'filters' failed to satisfy constraint: "
                f"Member must have length less than or equal to {MAX_FILTERS}"
            )
        for n, f in enumerate(filters[:MAX_FILTERS], start=1):
            key, values = f.get("Key"), f.get("Values")
            if key is None:
                return error_body("InvalidParameterException", "Invalid filter key")
            if key not in KEYS:
                broken.append(
                    f"Value '{key}' at 'filters.{n}.member.key' failed to satisfy constraint: "
                    f"Member must satisfy enum value set: [{', '.join(KEYS)}]"
                )
            if values is None:
                return error_body("InvalidParameterException", f"Invalid filter values for key: {key}")
            broken.extend(value_problems(n, values))
    limit = MAX_RESULTS[operation]
    size = payload.get("MaxResults")
    if size is not None and not 1 <= int(size) <= limit:
        bound = "greater than or equal to 1" if int(size) < 1 else f"less than or equal to {limit}"
        broken.append(f"Value '{size}' at 'maxResults' failed to satisfy constraint: Member must have value {bound}")
    if not broken:
        return None
    count = f"{len(broken)} validation error{'s' if len(broken) > 1 else ''} detected: "
    return error_body("ValidationException", count + "; ".join(broken))


def value_problems(n: int, values: list[Any]) -> list[str]:
    """The constraints one filter's values break, in AWS's words."""
    where = f"at 'filters.{n}.member.values'"
    problems = []
    if not 1 <= len(values) <= MAX_VALUES:
        bound = "greater than or equal to 1" if not values else f"less than or equal to {MAX_VALUES}"
        problems.append(f"Value '{values}' {where} failed to satisfy constraint: Member must have length {bound}")
    for value in values:
        value = str(value)
        broken = []
        if len(value) > MAX_VALUE_LENGTH:
            broken.append(f"Member must have length less than or equal to {MAX_VALUE_LENGTH}")
        if not VALUE_RE.match(value):
            broken.append(f"Member must satisfy regular expression pattern: {VALUE_PATTERN}")
        if broken:
            problems.append(
                f"Value '[{value}]' {where} failed to satisfy constraint: "
                f"Member must satisfy constraint: [{', '.join(broken)}]"
            )
    return problems
