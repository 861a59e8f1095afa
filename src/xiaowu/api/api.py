"""The REST API (django-ninja). OpenAPI at /api/openapi.json, docs at /api/docs.

Every endpoint authenticates (token or session) and reads through the same selectors,
and therefore the same ``visible_to`` scoping, as the HTML pages.
"""

from __future__ import annotations

from ninja import NinjaAPI

from xiaowu.api.auth import api_auth

api = NinjaAPI(
    title="校务 API",
    version="1",
    description=(
        "校务（xiaowu）接口。认证：请求头 `Authorization: Bearer <令牌>`，令牌在“个人中心”创建。"
    ),
    auth=api_auth,
    urls_namespace="api",
    docs_url="/docs",
    openapi_url="/openapi.json",
)

api.add_router("/", "xiaowu.api.routers.router")
