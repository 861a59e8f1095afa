"""Expected access to the staff pages (one entry per named route)."""

from __future__ import annotations

from tests.access.common import Route

ACCESS: dict[str, Route] = {}
