"""The listings the proxy answers itself: lagged and paged, from the model's history and LocalStack's list.

- Filtered `ListSecrets`: from the model's history, as of a drawn lag ago (listings.py).
- Unfiltered `ListSecrets`: LocalStack's list, lagged for the secrets the model knows (unless
  `--no-unfiltered-lag`), and paged by the model when it lags or pages are uneven.
- Filtered `BatchGetSecretValue`: the lagged listing's names fetched by id. A secret the lagged listing
  still shows but which is gone now (deleted since) is named in `Errors[]` instead of a value, as AWS
  does (`--batch-deleted-errors`; without it such a secret is silently left out).
"""

from __future__ import annotations

from typing import Any, Callable, Optional

from .errors import MARKED_FOR_DELETION, NOT_FOUND, Refusal, error_body
from .listings import list_entry
from .reads import Reads
from .state import DELETED


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

    def unfiltered_list(self, payload: dict[str, Any], headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
        """An unfiltered listing: lagged (when there is a lag to draw), in the model's pages when it
        lags or pages are uneven, LocalStack's answer as it is otherwise."""
        m = self.model
        o = m.options
        lags = o.unfiltered_lag and max(o.lag, o.lag_floor, o.tag_lag or 0.0, o.tag_lag_floor or 0.0) > 0
        if not (lags or o.uneven_pages or o.empty_first_pages):
            return self.call("ListSecrets", payload, headers)
        include = bool(payload.get("IncludePlannedDeletion"))

        def entries() -> list[Any]:
            current = self.upstream_list(payload, headers)
            return m.lagged_listing(current, include) if lags else current

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
        errors_for_gone = m.options.batch_deleted_errors

        def names() -> list[Any]:
            # Without Errors[] for them, only secrets live now are fetched: one deleted since is left out.
            return [n for (n, _, _, _) in m.lagged_matches(payload["Filters"], not errors_for_gone)]

        page, next_token = self.next_page(
            payload, "SecretValues", min(int(payload.get("MaxResults") or 20), 20), names
        )
        readable = [n for n in page if m.readable_now(n)]
        answer: dict[str, Any] = {"SecretValues": [], "Errors": []}
        if readable:
            status, fetched = self.call("BatchGetSecretValue", {"SecretIdList": readable}, headers)
            if status != 200:
                return status, fetched
            answer = self.split_unreadable(fetched)
            answer.pop("NextToken", None)
        for name in page:
            if name not in readable:
                answer["Errors"].append(self.gone_error(name))
        return 200, with_token(answer, next_token)

    def gone_error(self, name: str) -> dict[str, Any]:
        """The `Errors[]` entry of a secret a batch's listing showed but which is gone now: in its
        recovery window or being deleted, or deleted for good."""
        m = self.model
        m.count("batch_gone_errors")
        if m.state_of(name) == DELETED or m.deleting(name):
            code, message = "InvalidRequestException", MARKED_FOR_DELETION
        else:
            code, message = "ResourceNotFoundException", NOT_FOUND
        return {"SecretId": m.arn_of(name), "ErrorCode": code, "Message": message}
