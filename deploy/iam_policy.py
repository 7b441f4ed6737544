"""IAM identity-policy evaluation, as far as the deploy recipe's policies need it: whether a set of policy
documents (a role's managed and inline policies) allows one action on one resource with a request's
condition keys. Standard library only. deploy/iam_proxy.py asks it about every request a role sends.

The rules, after AWS's evaluation logic for one account's identity policies (no resource policies, no
permissions boundaries or SCPs, which the recipe does not use): an explicit Deny in any statement wins;
else an Allow that matches wins; else the request is denied (implicitly). A statement matches when its
Action matches the action (case-insensitive, with `*` and `?`), its Resource the resource ARN
(case-sensitive, with `*` and `?`), and every condition holds. Conditions: the string operators
(`StringEquals`, `StringNotEquals`, `StringLike`, `StringNotLike`, their `IgnoreCase` forms and
`...IfExists`), keys case-insensitive, values ORed within a key, keys and operators ANDed; a key the
request lacks fails the condition unless `IfExists` (or a `Not` operator, which AWS also counts as
matched). Anything else (NotAction, NotResource, NotPrincipal, other operators, set operators such as
`ForAnyValue:`) raises `Unsupported`: a policy this model cannot judge must fail the check loudly,
never pass it by accident.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable, Mapping, Optional, Sequence, Union

ContextValue = Union[str, Sequence[str]]


class Unsupported(Exception):
    """The policy uses an element this evaluator does not model."""


@dataclass(frozen=True)
class Decision:
    allowed: bool
    # The statements that decided, as `<policy name>/<Sid or index>`: every Allow that matched (so a
    # check can tell which statements a run used), or the Deny.
    statements: tuple[str, ...]
    # "allowed", "explicit deny" or "no identity-based policy allows it".
    reason: str


def _glob(pattern: str, case_sensitive: bool) -> "re.Pattern[str]":
    """IAM's wildcards: `*` any run of characters, `?` exactly one; nothing else is special."""
    body = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(f"^{body}$", 0 if case_sensitive else re.IGNORECASE | re.DOTALL)


def _listed(value: Union[str, Sequence[str]]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def _matches(patterns: Iterable[str], value: str, case_sensitive: bool) -> bool:
    return any(_glob(p, case_sensitive).match(value) for p in patterns)


_STRING_OPERATORS = {
    "StringEquals": (False, False, True),  # (negated, like, case-sensitive)
    "StringNotEquals": (True, False, True),
    "StringEqualsIgnoreCase": (False, False, False),
    "StringNotEqualsIgnoreCase": (True, False, False),
    "StringLike": (False, True, True),
    "StringNotLike": (True, True, True),
}


def _condition_holds(operator: str, tests: Mapping[str, ContextValue], context: Mapping[str, ContextValue]) -> bool:
    name = operator[: -len("IfExists")] if operator.endswith("IfExists") else operator
    if name not in _STRING_OPERATORS:
        raise Unsupported(f"condition operator {operator}")
    negated, like, case_sensitive = _STRING_OPERATORS[name]
    present = {k.lower(): v for k, v in context.items()}
    for key, wanted in tests.items():
        if key.lower() not in present:
            # A missing key fails a positive test; IfExists and the negated operators count it as met.
            if operator.endswith("IfExists") or negated:
                continue
            return False
        got = _listed(present[key.lower()])
        wanted = [str(w) for w in _listed(wanted)]
        if like:
            hit = any(_matches(wanted, g, case_sensitive) for g in got)
        elif case_sensitive:
            hit = any(g in wanted for g in got)
        else:
            hit = any(g.lower() in [w.lower() for w in wanted] for g in got)
        if hit == negated:
            return False
    return True


def _statement_applies(statement: Mapping, action: str, resource: str, context: Mapping[str, ContextValue]) -> bool:
    for element in ("NotAction", "NotResource", "NotPrincipal", "Principal"):
        if element in statement:
            raise Unsupported(f"{element} in an identity policy statement")
    if not _matches(_listed(statement.get("Action", [])), action, case_sensitive=False):
        return False
    if not _matches(_listed(statement.get("Resource", [])), resource, case_sensitive=True):
        return False
    for operator, tests in statement.get("Condition", {}).items():
        if ":" in operator:
            raise Unsupported(f"set operator {operator}")
        if not _condition_holds(operator, tests, context):
            return False
    return True


def statements(document: Mapping) -> list[tuple[str, Mapping]]:
    """A policy document's statements, each with its Sid (or `#<index>` when it has none)."""
    listed = document.get("Statement", [])
    listed = [listed] if isinstance(listed, dict) else listed
    return [(s.get("Sid") or f"#{i}", s) for i, s in enumerate(listed)]


def evaluate(documents: Mapping[str, Mapping], action: str, resource: str,
             context: Optional[Mapping[str, ContextValue]] = None) -> Decision:
    """Whether `documents` (policy documents by name, as IAM returns them) allow `action` on `resource`."""
    context = context or {}
    allowed: list[str] = []
    for name, document in documents.items():
        for sid, statement in statements(document):
            if statement.get("Effect") not in ("Allow", "Deny"):
                raise Unsupported(f"Effect {statement.get('Effect')!r}")
            if not _statement_applies(statement, action, resource, context):
                continue
            if statement["Effect"] == "Deny":
                return Decision(False, (f"{name}/{sid}",), "explicit deny")
            allowed.append(f"{name}/{sid}")
    if allowed:
        return Decision(True, tuple(allowed), "allowed")
    return Decision(False, (), "no identity-based policy allows it")
