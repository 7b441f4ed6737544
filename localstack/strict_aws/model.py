"""The model: its state and every concern built on it, in one object the proxy and the tests use."""

from __future__ import annotations

from .deletion import Deletion
from .listings import Listings
from .pages import Pages
from .throttling import Throttling
from .versions import Versions


class Model(Listings, Pages, Versions, Deletion, Throttling):
    """What the proxy keeps and decides; `Model(options, clock)`, `clock` injectable in tests."""
