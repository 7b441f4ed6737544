"""The listings the proxy answers itself: lagged, paged, from the model's history or LocalStack's list."""

from __future__ import annotations

from typing import Any, Callable, Optional

from .errors import Refusal, error_body
from .listings import list_entry
from .reads import Reads


def with_token(answer: dict[str, Any], token: Optional[str]) -> dict[str, Any]:
    if token:
        answer["NextToken"] = token
    return answer


class Listed(Reads):
    def next_page(
        self, payload: dict[str, Any], key: str, max_results: int, first_entries: Callable[[], list[Any]]
    ) -> tuple[list[Any], Optional[str]]:
        """The page a request asks for of a listing the proxy answers itself: the first one from
        `first_entries()`, a later one from where its `NextToken` left off."""
        token = payload.get("NextToken")
        if token:
            resumed = self.model.resume(token)
            if resumed is None:
                raise Refusal(*error_body("InvalidNextTokenException", "The NextToken value is invalid."))
            entries = resumed[0]
        else:
            entries = first_entries()
        return self.model.page(entries, key, max_results, first=not token)

    def lagged_list(self, payload: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        m = self.model
        include = bool(payload.get("IncludePlannedDeletion"))

        def entries() -> list[Any]:
            return [
                list_entry(m, n, t, s, e)
                for (n, t, s, e) in m.lagged_matches(payload["Filters"], False, include)
            ]

        page, next_token = self.next_page(payload, "SecretList", int(payload.get("MaxResults") or 100), entries)
        return 200, with_token({"SecretList": page}, next_token)

    def paged_passthrough(self, payload: dict[str, Any], headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
        """An unfiltered listing: current, but in uneven pages when they are on."""
        m = self.model
        if not (m.options.uneven_pages or m.options.empty_first_pages):
            return self.call("ListSecrets", payload, headers)

        def entries() -> list[Any]:
            return self.upstream_list(payload, headers)

        page, next_token = self.next_page(payload, "SecretList", int(payload.get("MaxResults") or 100), entries)
        return 200, with_token({"SecretList": page}, next_token)

    def upstream_list(self, payload: dict[str, Any], headers: dict[str, str]) -> list[Any]:
        """Every entry of LocalStack's listing for `payload`, all its pages read."""
        found, upstream_token = [], None
        while True:
            ask = {k: v for k, v in payload.items() if k != "NextToken"}
            ask["MaxResults"] = 100
            if upstream_token:
                ask["NextToken"] = upstream_token
            status, answer = self.call("ListSecrets", ask, headers)
            if status != 200:
                raise Refusal(status, answer)
            found.extend(answer.get("SecretList", []))
            upstream_token = answer.get("NextToken")
            if not upstream_token:
                return found

    def lagged_batch(self, payload: dict[str, Any], headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
        m = self.model

        def names() -> list[Any]:
            # Only secrets live now can be fetched by name; one deleted since was "gone" on AWS too.
            return [n for (n, _, _, _) in m.lagged_matches(payload["Filters"], True)]

        page, next_token = self.next_page(
            payload, "SecretValues", min(int(payload.get("MaxResults") or 20), 20), names
        )
        answer: dict[str, Any] = {"SecretValues": [], "Errors": []}
        if page:
            status, fetched = self.call("BatchGetSecretValue", {"SecretIdList": page}, headers)
            if status != 200:
                return status, fetched
            answer = self.split_unreadable(fetched)
            answer.pop("NextToken", None)
        return 200, with_token(answer, next_token)
