"""Per-request facts that services need but should not take as arguments (client IP, request id)."""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(frozen=True)
class RequestMeta:
    ip_address: str | None = None
    request_id: str = ""


current_request_meta: ContextVar[RequestMeta] = ContextVar(
    "current_request_meta",
    default=RequestMeta(),  # noqa: B039 — frozen dataclass, immutable
)
