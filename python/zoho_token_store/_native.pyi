"""Type stubs of the native module (python/src/lib.rs)."""

from typing import Dict, List, Optional

__version__: str

def cli(argv: List[str]) -> int:
    """Runs the operator tool with argv (the program name first); its exit code."""

class StoreError(Exception):
    """args: (kind, message, retryable)."""

TokenDict = Dict[str, Optional[str]]

class Store:
    def __init__(
        self,
        prefix: str,
        keys: Optional[str] = None,
        keyring_secret: Optional[str] = None,
        kms_key_id: Optional[str] = None,
        endpoint_url: Optional[str] = None,
        region: Optional[str] = None,
        cache_ttl_seconds: Optional[float] = None,
        recovery_window_days: Optional[float] = None,
        allow_unbound_keyring: bool = False,
        refresh_ahead_seconds: Optional[float] = None,
    ) -> None: ...
    @property
    def prefix(self) -> str: ...
    @property
    def refreshes_ahead(self) -> bool: ...
    def find_token(self, token: TokenDict, accounts_url: Optional[str] = None) -> Optional[TokenDict]: ...
    def save_token(self, token: TokenDict) -> TokenDict: ...
    def delete_token(self, id: str) -> None: ...
    def get_tokens(self) -> List[TokenDict]: ...
    def delete_tokens(self) -> None: ...
    def find_token_by_id(self, id: str, accounts_url: Optional[str] = None) -> TokenDict: ...
    def calls(self) -> Dict[str, int]: ...
    def reset_calls(self) -> None: ...
