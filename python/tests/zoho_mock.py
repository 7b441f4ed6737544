"""The Python tests' Zoho: the strict mock (zoho-mock/strict_zoho at the repository's root), served from a
thread of the test process. It enforces Zoho's OAuth limits, so a grant or refresh token a test uses must
be issued by it first (`zoho.grant(code)`, `zoho.issue_refresh_token(token, email=...)`); it counts what
it is asked (`exchanges`, `refreshes`, `crm_calls`) and what it answered (`stats()`)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "zoho-mock"))

from strict_zoho import StrictZoho as ZohoMock  # noqa: E402

__all__ = ["ZohoMock"]
