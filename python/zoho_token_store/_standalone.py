"""Small stand-ins for the Zoho SDK's classes, used when the SDK is not installed: the same names,
constructors, getters and setters, so code written against the SDK runs unchanged."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, Dict, List, Optional


class SDKException(Exception):
    """The SDK's ``SDKException(code, message, details, cause)``."""

    def __init__(
        self,
        code: Optional[str] = None,
        message: Optional[str] = None,
        details: Optional[Dict[str, Any]] = None,
        cause: Optional[BaseException] = None,
    ) -> None:
        self.code = code
        self.cause = cause
        self.details = details
        self.error_message = "" if message is None else message
        super().__init__(code, message)

    def __str__(self) -> str:
        return f"Caused By: {self.code} - {self.error_message}"


class UserSignature:
    """The SDK's ``UserSignature(name)``."""

    def __init__(self, name: str) -> None:
        self.__name = name

    def get_name(self) -> str:
        return self.__name


class OAuthToken:
    """The SDK's ``OAuthToken``: the same constructor, getters and setters (no network methods)."""

    def __init__(
        self,
        client_id: Optional[str] = None,
        client_secret: Optional[str] = None,
        grant_token: Optional[str] = None,
        refresh_token: Optional[str] = None,
        redirect_url: Optional[str] = None,
        id: Optional[str] = None,  # noqa: A002 - the SDK's parameter name
        access_token: Optional[str] = None,
        user_signature: Optional[UserSignature] = None,
        api_domain: Optional[str] = None,
        find_user: bool = True,
    ) -> None:
        if grant_token is None and refresh_token is None and id is None and access_token is None \
                and user_signature is None:
            raise SDKException(
                "MANDATORY VALUE ERROR",
                "give one of grant_token, refresh_token, id, access_token or user_signature",
            )
        if id is None and access_token is None and user_signature is None \
                and not (isinstance(client_id, str) and isinstance(client_secret, str)):
            raise SDKException("TOKEN ERROR", "a grant or refresh token needs client_id and client_secret")
        self.__client_id = client_id
        self.__client_secret = client_secret
        self.__grant_token = grant_token
        self.__refresh_token = refresh_token
        self.__redirect_url = redirect_url
        self.__id = id
        self.__access_token = access_token
        self.__expires_in: Optional[str] = None
        self.__user_signature = user_signature
        self.__api_domain = api_domain
        self.__find_user = find_user

    def __repr__(self) -> str:  # never the secrets
        return f"OAuthToken(id={self.__id!r})"

    def get_client_id(self) -> Optional[str]:
        return self.__client_id

    def set_client_id(self, value: Optional[str]) -> None:
        self.__client_id = value

    def get_client_secret(self) -> Optional[str]:
        return self.__client_secret

    def set_client_secret(self, value: Optional[str]) -> None:
        self.__client_secret = value

    def get_grant_token(self) -> Optional[str]:
        return self.__grant_token

    def set_grant_token(self, value: Optional[str]) -> None:
        self.__grant_token = value

    def get_refresh_token(self) -> Optional[str]:
        return self.__refresh_token

    def set_refresh_token(self, value: Optional[str]) -> None:
        self.__refresh_token = value

    def get_redirect_url(self) -> Optional[str]:
        return self.__redirect_url

    def set_redirect_url(self, value: Optional[str]) -> None:
        self.__redirect_url = value

    def get_id(self) -> Optional[str]:
        return self.__id

    def set_id(self, value: Optional[str]) -> None:
        self.__id = value

    def get_access_token(self) -> Optional[str]:
        return self.__access_token

    def set_access_token(self, value: Optional[str]) -> None:
        self.__access_token = value

    def get_expires_in(self) -> Optional[str]:
        return self.__expires_in

    def set_expires_in(self, value: Optional[str]) -> None:
        self.__expires_in = value

    def get_user_signature(self) -> Optional[UserSignature]:
        return self.__user_signature

    def set_user_signature(self, value: Optional[UserSignature]) -> None:
        self.__user_signature = value

    def get_api_domain(self) -> Optional[str]:
        return self.__api_domain

    def set_api_domain(self, value: Optional[str]) -> None:
        self.__api_domain = value


class TokenStore(ABC):
    """The SDK's ``TokenStore``: the six operations a store provides."""

    @abstractmethod
    def find_token(self, token: Any) -> Any: ...

    @abstractmethod
    def save_token(self, token: Any) -> None: ...

    @abstractmethod
    def delete_token(self, id: str) -> None: ...  # noqa: A002

    @abstractmethod
    def get_tokens(self) -> List[Any]: ...

    @abstractmethod
    def delete_tokens(self) -> None: ...

    @abstractmethod
    def find_token_by_id(self, id: str) -> Any: ...  # noqa: A002
