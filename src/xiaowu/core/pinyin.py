"""Pinyin search keys for Chinese names, so that "zs" or "zhangsan" finds 张三."""

from __future__ import annotations

from pypinyin import Style, lazy_pinyin


def pinyin_keys(text: str) -> tuple[str, str]:
    """Return ``(full, initials)`` pinyin of ``text``, lower case, without separators.

    Non-Chinese characters are kept as they are, so "2班" gives ("2ban", "2b").
    """
    full = "".join(lazy_pinyin(text, errors="default")).lower()
    initials = "".join(
        syllable[:1] for syllable in lazy_pinyin(text, style=Style.NORMAL, errors="default")
    ).lower()
    return full, initials
