"""Zoho OAuth tokens encrypted (AES-256-GCM) in AWS Secrets Manager, as a Zoho Python SDK token store.

``SecretsManagerTokenStore`` plugs into ``Initializer.initialize(..., store=...)`` of the Zoho CRM Python
SDK (``pip install zoho-token-store[sdk]``). Every rule of the store (encryption, lookups, concurrency,
prefix ownership) lives in the Rust crate ``zoho-token-store``; this module only converts the SDK's
tokens and follows the calling conventions of the SDK's own ``FileStore``, so a Python app, a Rust
service, the command-line tool and the rotation Lambda share one set of secrets and one format.
"""

from __future__ import annotations

from contextlib import contextmanager
from numbers import Integral, Real
from typing import Any, Dict, Iterator, List, Optional, Tuple

from . import _native

try:  # The SDK is optional: with it, the store is one of its TokenStores and speaks its classes.
    # The SDK ships no type information: its classes are `Any` to a type checker.
    from zohocrmsdk.src.com.zoho.api.authenticator.oauth_token import OAuthToken  # type: ignore[import-untyped]
    from zohocrmsdk.src.com.zoho.api.authenticator.store.token_store import (  # type: ignore[import-untyped]
        TokenStore,
    )
    from zohocrmsdk.src.com.zoho.crm.api.exception.sdk_exception import (  # type: ignore[import-untyped]
        SDKException,
    )
    from zohocrmsdk.src.com.zoho.crm.api.user_signature import UserSignature  # type: ignore[import-untyped]

    HAS_SDK = True
except ImportError:  # pragma: no cover - exercised in a subprocess by the tests
    from ._standalone import OAuthToken, SDKException, TokenStore, UserSignature

    HAS_SDK = False

__all__ = [
    "HAS_SDK",
    "OAuthToken",
    "SDKException",
    "SecretsManagerTokenStore",
    "TokenStoreError",
    "UserSignature",
    "__version__",
]

__version__: str = _native.__version__

_SECONDS = "a number of seconds (int or float)"

#: The SDK's error code for token store failures (``Constants.TOKEN_STORE``).
TOKEN_STORE = "TOKEN_STORE"

# The SDK's token fields, by the names its getters and setters use.
_TEXT_FIELDS = (
    "id",
    "client_id",
    "client_secret",
    "grant_token",
    "refresh_token",
    "access_token",
    "expires_in",
    "redirect_url",
    "api_domain",
)


class TokenStoreError(SDKException):  # type: ignore[misc]
    """A store operation failed. An ``SDKException`` with code ``TOKEN_STORE``, as the SDK's own stores
    raise, whose message says what failed and how to fix it (never a secret).

    ``kind`` names the failure class (``"Backend"``, ``"Throttled"``, ``"KeySource"``, ``"Decrypt"``,
    ``"InvalidToken"``, ``"InvalidConfig"``, ``"NotFound"``, ...) and ``retryable`` says whether the same
    call may succeed later.
    """

    def __init__(self, kind: str, message: str, retryable: bool = False) -> None:
        super().__init__(code=TOKEN_STORE, message=message)
        self.kind = kind
        self.retryable = retryable
        self.message_text = message

    def __repr__(self) -> str:
        return f"TokenStoreError(kind={self.kind!r}, message={self.message_text!r})"


def _expect(where: str, name: str, value: Any, kinds: Tuple[type, ...], what: str) -> None:
    """Raises ``TypeError`` naming ``name`` when ``value`` is not one of ``kinds`` (a bool is not a
    number here). Never shows the value: it may be a key."""
    if isinstance(value, kinds) and not (isinstance(value, bool) and bool not in kinds):
        return
    raise TypeError(f"{where}: {name} takes {what}, not {type(value).__name__}")


def _number(name: str, value: Any, kind: type, what: str, default_when_none: Optional[float]) -> Optional[float]:
    """A number option as the native store takes it (any real number Python has: int, float, Decimal,
    numpy's; a whole one for ``numbers.Integral``); None is ``default_when_none``."""
    if value is None:
        return default_when_none
    _expect("SecretsManagerTokenStore", f"{name}=", value, (kind,), what)
    try:
        return float(value)
    except OverflowError:  # an int past a float's range; the value itself is not echoed (it may be huge)
        raise ValueError(f"SecretsManagerTokenStore: {name} is too large; see its range in the docstring") from None


def _id(method: str, value: Any) -> str:
    """The id argument of ``method``, checked."""
    if isinstance(value, str):
        return value
    raise TypeError(
        f"{method}(id): id takes a str (the token's id, as get_id() of a found or saved token returns it), "
        f"not {type(value).__name__}"
    )


@contextmanager
def _sdk_errors() -> Iterator[None]:
    """Raises the native store's errors as `TokenStoreError`, the SDK's exception type."""
    try:
        yield
    except _native.StoreError as e:
        kind, message, retryable = e.args
        raise TokenStoreError(kind, message, retryable) from None


def _to_dict(token: Any) -> Dict[str, Optional[str]]:
    """The SDK token's fields, as the native store reads them."""
    fields: Dict[str, Optional[str]] = {name: getattr(token, "get_" + name)() for name in _TEXT_FIELDS}
    signature = token.get_user_signature()
    fields["user_name"] = signature.get_name() if signature is not None else None
    return fields


def _fill(token: Any, stored: Dict[str, Optional[str]]) -> Any:
    """Sets the fields ``token`` leaves None from ``stored``, as the SDK's FileStore does."""
    for name in _TEXT_FIELDS:
        value = stored.get(name)
        if value is not None and getattr(token, "get_" + name)() is None:
            getattr(token, "set_" + name)(value)
    user = stored.get("user_name")
    if user is not None and token.get_user_signature() is None:
        token.set_user_signature(UserSignature(user))
    return token


def _new_token(stored: Dict[str, Optional[str]]) -> Any:
    """A new SDK token holding ``stored``, built as the SDK's FileStore builds them (without
    ``__init__``, which demands credentials a stored token may not carry)."""
    token = object.__new__(OAuthToken)
    for name in _TEXT_FIELDS:
        getattr(token, "set_" + name)(None)
    token.set_user_signature(None)
    return _fill(token, stored)


class SecretsManagerTokenStore(TokenStore):  # type: ignore[misc]
    """Zoho OAuth tokens, each encrypted in the app and kept as one AWS Secrets Manager secret.

    Args:
        prefix: the prefix of every secret name; stores with different prefixes never see each other's
            tokens.
        keys: the keyring's text (what ``zoho-token-store keygen`` prints). With neither ``keys`` nor
            ``keyring_secret``, the environment names the keys as for the ``zoho-token-store`` command:
            the keyring secret ``ZOHO_TOKEN_STORE_KEYRING_SECRET`` (its KMS key
            ``ZOHO_TOKEN_STORE_KMS_KEY_ID``) when set, else the keyring ``ZOHO_TOKEN_STORE_KEYS``.
        keyring_secret: the name or ARN of a secret that holds the keyring (``zoho-token-store
            init-keyring``), read and re-read as keys rotate.
        kms_key_id: the KMS key that wraps the keys in ``keyring_secret``.
        endpoint_url: the AWS endpoint, e.g. LocalStack's ``http://127.0.0.1:4566``; None uses
            ``AWS_ENDPOINT_URL`` or AWS.
        region: the AWS region; None uses the standard chain (``AWS_REGION``, the profile, ...).
        cache_ttl_seconds: keep tokens read in an in-process cache this long (default 30; the SDK reads
            the store before every API request, and each uncached read is a ``GetSecretValue``); 0 for no
            cache. Other processes' changes show within it; a token due for refresh, a save and the
            refresh lease read past it.
        recovery_window_days: days a deleted token can still be restored by an operator (7 to 30), or 0
            to delete at once.
        allow_unbound_keyring: read a KMS keyring written before keyrings were bound to their secret's
            name, during the upgrade (``zoho-token-store rebind-keyring``).
        refresh_ahead_seconds: hand the SDK tokens with at least this long to live (default 60; more
            than the SDK's own 5 s): a found token closer to expiry is refreshed first, at the accounts
            server of the SDK's environment, by one process of the fleet while the others wait for it
            (a lease in Secrets Manager); a token that lives only minutes is refreshed within a quarter
            of its lifetime instead. A grant nothing is stored for is exchanged once for the fleet the
            same way. 0 leaves refreshing and exchanging to the SDK, in every process that finds the
            token expiring (as its FileStore, which never calls Zoho): for a single-process app.

    AWS credentials come from the standard chain, as for the AWS CLI and boto3.

    Raises:
        TypeError: an option of the wrong type (named, as every message names the argument to change).
        TokenStoreError: a value out of range, a malformed region or endpoint, or a bad keyring (kind
            ``InvalidConfig``; the message names the argument and what to give instead).
    """

    def __init__(
        self,
        prefix: str = "zoho/oauth/",
        keys: Optional[str] = None,
        keyring_secret: Optional[str] = None,
        kms_key_id: Optional[str] = None,
        endpoint_url: Optional[str] = None,
        region: Optional[str] = None,
        cache_ttl_seconds: Optional[float] = 30,
        recovery_window_days: int = 7,
        allow_unbound_keyring: bool = False,
        refresh_ahead_seconds: Optional[float] = 60,
    ) -> None:
        where = "SecretsManagerTokenStore"
        _expect(where, "prefix=", prefix, (str,), "a str, such as 'zoho/oauth/'")
        for name, value in (
            ("keys=", keys),
            ("keyring_secret=", keyring_secret),
            ("kms_key_id=", kms_key_id),
            ("endpoint_url=", endpoint_url),
            ("region=", region),
        ):
            if value is not None:
                _expect(where, name, value, (str,), "a str or None")
        _expect(where, "allow_unbound_keyring=", allow_unbound_keyring, (bool,), "True or False")
        with _sdk_errors():
            self._store = _native.Store(
                prefix,
                keys=keys,
                keyring_secret=keyring_secret,
                kms_key_id=kms_key_id,
                endpoint_url=endpoint_url,
                region=region,
                # None, the former default of each, still means off.
                cache_ttl_seconds=_number("cache_ttl_seconds", cache_ttl_seconds, Real, _SECONDS, 0.0),
                recovery_window_days=_number(
                    "recovery_window_days", recovery_window_days, Integral, "a whole number of days (an int)", 7.0
                ),
                allow_unbound_keyring=allow_unbound_keyring,
                refresh_ahead_seconds=_number("refresh_ahead_seconds", refresh_ahead_seconds, Real, _SECONDS, 0.0),
            )
        self._refresh_ahead = self._store.refreshes_ahead

    @property
    def prefix(self) -> str:
        """The prefix of every secret name this store uses."""
        return self._store.prefix

    def __repr__(self) -> str:
        return repr(self._store)

    def find_token(self, token: Any) -> Any:
        """Fills the fields left None on ``token`` from the stored token it matches (by user name;
        else by access token when it has no client credentials; else by grant, then refresh token) and
        returns ``token`` itself; None when nothing matches. Anything but an ``OAuthToken`` is returned
        as given, as the SDK's FileStore does."""
        if not isinstance(token, OAuthToken):
            return token
        with _sdk_errors():
            stored = self._store.find_token(_to_dict(token), self._accounts_url())
        return None if stored is None else _fill(token, stored)

    def save_token(self, token: Any) -> None:
        """Saves ``token``: over the stored token with its id, or the one it matches as in
        ``find_token``, whose values first fill the fields ``token`` leaves None; else as a new token.
        Sets the id on ``token``.

        Deletes stick: a token that carries an id (the store gave it when the token was found or saved)
        updates that token only; when it was deleted meanwhile, nothing is written (FileStore would
        append it again). The SDK makes this save after its own refresh, so a token an operator deleted
        stays deleted.

        Raises:
            TypeError: ``token`` is not an ``OAuthToken``.
            TokenStoreError: ``token`` names a user or id that matches nothing while carrying no grant,
                refresh or access token (kind ``InvalidToken``), its id names a token deleted since (kind
                ``TokenDeleted``), or the store failed.
        """
        _expect("save_token(token)", "token", token, (OAuthToken,), "an OAuthToken")
        with _sdk_errors():
            saved = self._store.save_token(_to_dict(token))
        _fill(token, saved)

    def delete_token(self, id: str) -> None:  # noqa: A002 - the SDK's parameter name
        """Deletes the token with this id.

        Raises:
            TypeError: ``id`` is not a str.
            TokenStoreError: no token has this id (kind ``NotFound``, as the SDK's FileStore raises), or
                the store failed.
        """
        id = _id("delete_token", id)
        with _sdk_errors():
            self._store.delete_token(id)

    def get_tokens(self) -> List[Any]:
        """Every token under the prefix, as new ``OAuthToken`` objects.

        Raises:
            TokenStoreError: a stored entry cannot be read (named in the message), or the store failed.
        """
        with _sdk_errors():
            return [_new_token(t) for t in self._store.get_tokens()]

    def delete_tokens(self) -> None:
        """Deletes every token under the prefix, and nothing else."""
        with _sdk_errors():
            self._store.delete_tokens()

    def find_token_by_id(self, id: str) -> Any:  # noqa: A002 - the SDK's parameter name
        """The token with this id, as a new ``OAuthToken``.

        Raises:
            TypeError: ``id`` is not a str.
            TokenStoreError: no token has this id (kind ``NotFound``, as the SDK's FileStore raises), or
                the store failed.
        """
        id = _id("find_token_by_id", id)
        with _sdk_errors():
            return _new_token(self._store.find_token_by_id(id, self._accounts_url()))

    def calls(self) -> Dict[str, int]:
        """The AWS calls this process's store has made, by operation (for budgets and benchmarks)."""
        with _sdk_errors():
            return self._store.calls()

    def reset_calls(self) -> None:
        """Sets the call counts back to zero."""
        with _sdk_errors():
            self._store.reset_calls()

    def _accounts_url(self) -> Optional[str]:
        """Where the SDK refreshes (its environment's accounts URL), when refreshing ahead."""
        if not (self._refresh_ahead and HAS_SDK):
            return None
        from zohocrmsdk.src.com.zoho.crm.api.initializer import Initializer  # type: ignore[import-untyped]

        initializer = Initializer.get_initializer()
        environment = getattr(initializer, "environment", None)
        url = getattr(environment, "accounts_url", None)
        return url if isinstance(url, str) else None
