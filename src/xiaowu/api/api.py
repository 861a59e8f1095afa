"""The REST API (django-ninja). OpenAPI at /api/openapi.json, docs at /api/docs.

Every endpoint authenticates (token or session) and reads through the same selectors,
and therefore the same ``visible_to`` scoping, as the HTML pages; the one write (recording a
学籍异动) goes through the same service. Errors are JSON ``{"detail": "中文消息"}``: 401
unauthenticated, 403 no permission (or a failed CSRF check of a session write), 404 absent or
outside the caller's scope, 422 invalid parameters or a rule the service refused.
"""

from __future__ import annotations

from typing import Any

from ninja import NinjaAPI
from ninja.renderers import JSONRenderer

from xiaowu.api.auth import api_auth
from xiaowu.api.responses import install_error_handlers
from xiaowu.api.routers import accounts, org, staff, students


class Utf8JSONRenderer(JSONRenderer):
    """Chinese text as UTF-8, not ``\\uXXXX`` escapes."""

    json_dumps_params: dict[str, Any] = {"ensure_ascii": False}


api = NinjaAPI(
    title="校务 API",
    version="1",
    description=(
        "校务（xiaowu）接口。认证：请求头 `Authorization: Bearer <令牌>`，令牌在“个人中心”创建；"
        "浏览器内也可用登录会话。所有数据都限于调用者的管理范围：范围外的对象答 404。"
        '错误响应为 `{"detail": "中文说明"}`（参数错误另有 `errors` 逐项列出）。'
        "身份证件号和手机号始终脱敏，接口不提供查看完整号码；学生的特殊群体信息（留守、残疾、"
        "孤儿、建档立卡/低保、健康状况等）仅对有“学籍管理”或“查看完整个人信息”权限的调用者返回。"
        "用登录会话提交写操作（POST）时须带 CSRF 令牌（X-CSRFToken 请求头）；令牌认证不需要。"
    ),
    auth=api_auth,
    renderer=Utf8JSONRenderer(),
    urls_namespace="api",
    docs_url="/docs",
    openapi_url="/openapi.json",
)
install_error_handlers(api)

api.add_router("/", accounts.router)
api.add_router("/", org.router)
api.add_router("/", students.router)
api.add_router("/", staff.router)
