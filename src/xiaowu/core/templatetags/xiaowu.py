"""Small presentation filters; no business logic."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django import template

from xiaowu.core.masking import mask_id_number, mask_mobile

register = template.Library()


@register.filter
def get_item(mapping: Mapping[str, Any], key: str) -> Any:
    return mapping.get(key)


@register.filter
def masked_mobile(value: str | None) -> str:
    return mask_mobile(value or "")


@register.filter
def masked_id(value: str | None) -> str:
    return mask_id_number(value or "")
