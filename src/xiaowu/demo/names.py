"""Synthetic Chinese personal names, mobile numbers and ID numbers for the demo district.

Names are drawn from a surname list (weighted roughly by frequency) and pools of given-name
characters per gender and generation. They never come from a register of real people, and
none is taken from the seed documents. Everything is driven by the ``random.Random`` passed
in, so that a seed always gives the same district.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Literal

from xiaowu.core.identifiers import make_id_number
from xiaowu.core.models import Gender

Generation = Literal["adult", "child"]

# (surname, relative weight): common surnames first, a few rarer ones and two compound ones.
SURNAMES: tuple[tuple[str, int], ...] = (
    ("王", 72),
    ("李", 70),
    ("张", 68),
    ("刘", 54),
    ("陈", 45),
    ("杨", 31),
    ("赵", 20),
    ("黄", 18),
    ("周", 17),
    ("吴", 16),
    ("徐", 13),
    ("孙", 12),
    ("马", 12),
    ("胡", 12),
    ("朱", 11),
    ("郭", 11),
    ("何", 10),
    ("罗", 9),
    ("高", 9),
    ("林", 8),
    ("郑", 7),
    ("梁", 7),
    ("谢", 7),
    ("宋", 6),
    ("唐", 6),
    ("许", 6),
    ("韩", 5),
    ("邓", 5),
    ("冯", 5),
    ("曹", 5),
    ("彭", 5),
    ("曾", 4),
    ("田", 4),
    ("董", 4),
    ("袁", 4),
    ("潘", 4),
    ("蒋", 4),
    ("蔡", 4),
    ("余", 4),
    ("杜", 4),
    ("叶", 3),
    ("程", 3),
    ("苏", 3),
    ("魏", 3),
    ("吕", 3),
    ("丁", 3),
    ("任", 3),
    ("沈", 3),
    ("姚", 3),
    ("卢", 3),
    ("姜", 3),
    ("崔", 3),
    ("钟", 2),
    ("谭", 2),
    ("陆", 2),
    ("汪", 2),
    ("范", 2),
    ("金", 2),
    ("石", 2),
    ("贾", 2),
    ("夏", 2),
    ("付", 2),
    ("方", 2),
    ("白", 2),
    ("邹", 2),
    ("孟", 2),
    ("秦", 2),
    ("邱", 2),
    ("侯", 2),
    ("薛", 2),
    ("闫", 2),
    ("段", 2),
    ("雷", 2),
    ("史", 2),
    ("牛", 2),
    ("苟", 1),
    ("祁", 1),
    ("窦", 1),
    ("俞", 1),
    ("岳", 1),
    ("欧阳", 1),
    ("司马", 1),
)
_SURNAME_LIST = tuple(name for name, _ in SURNAMES)
_SURNAME_CUM_WEIGHTS = tuple(
    sum(weight for _, weight in SURNAMES[: index + 1]) for index in range(len(SURNAMES))
)

# Given-name characters by (generation, gender): (first of two, second of two, single).
# Teachers were born 1967-2002, pupils 2010-2023; the pools follow the naming fashions.
GIVEN_CHARS: dict[tuple[Generation, str], tuple[str, str, str]] = {
    ("adult", Gender.MALE): (
        "建志国海文永春晓立振俊鹏宏明少天小亚卫德学金长红",
        "华军强平东新峰林波龙云飞成刚杰伟明辉勇斌涛磊宇亮忠生",
        "伟军勇强磊斌涛辉刚杰鹏亮峰波超洋",
    ),
    ("adult", Gender.FEMALE): (
        "丽秀红晓玉春海美淑桂雪彩秋雅慧文亚小艳晶金冬凤",
        "娟燕霞芳梅琳萍兰英莉娜玲琴洁华红丽敏静艳婷颖",
        "静丽娟敏燕霞芳婷颖艳娜玲琳洁红",
    ),
    ("child", Gender.MALE): (
        "子梓浩宇俊博文泽昊睿一天嘉明奕旭锦皓晨家志思",
        "轩宇辰航铭杰豪哲煜翔阳凯鑫鹏睿泽然川恒诚瑞宸峻博霖楠",
        "浩宇轩杰博睿哲鑫凯航昊晨",
    ),
    ("child", Gender.FEMALE): (
        "欣怡梓雨诗佳思语可若依嘉雅婉紫芷沐一安心舒子晓静",
        "怡涵萱琪妍悦彤晗瑶钰琳然宁昕玥蕊雯欣馨菲璐晴婷希",
        "欣怡涵萱悦妍琪彤瑶钰婷雯",
    ),
}

# Share of given names with a single character (王伟, 李静) by generation.
SINGLE_CHAR_SHARE: dict[Generation, float] = {"adult": 0.3, "child": 0.12}

# Mobile prefixes of the three carriers; the remaining eight digits are random.
MOBILE_PREFIXES = (
    "130",
    "131",
    "132",
    "133",
    "135",
    "136",
    "137",
    "138",
    "139",
    "150",
    "151",
    "152",
    "153",
    "155",
    "156",
    "157",
    "158",
    "159",
    "177",
    "180",
    "181",
    "185",
    "186",
    "187",
    "188",
    "189",
    "199",
)


def surname_pick(rng: random.Random) -> str:
    """Return one surname, weighted by frequency."""
    return rng.choices(_SURNAME_LIST, cum_weights=_SURNAME_CUM_WEIGHTS)[0]


def given_name_pick(rng: random.Random, *, gender: str, generation: Generation) -> str:
    """Return a one- or two-character given name of the generation and gender."""
    firsts, seconds, singles = GIVEN_CHARS[(generation, gender)]
    if rng.random() < SINGLE_CHAR_SHARE[generation]:
        return rng.choice(singles)
    first = rng.choice(firsts)
    second = rng.choice(seconds)
    while second == first:
        second = rng.choice(seconds)
    return first + second


def person_name(
    rng: random.Random, *, gender: str, generation: Generation, surname: str = ""
) -> str:
    """Return a full name: surname plus given name (``surname`` forces a family name)."""
    return (surname or surname_pick(rng)) + given_name_pick(
        rng, gender=gender, generation=generation
    )


def mobile_pick(rng: random.Random, *, taken: set[str]) -> str:
    """Return a synthetic 11-digit mobile number not in ``taken`` (and add it there)."""
    while True:
        number = rng.choice(MOBILE_PREFIXES) + f"{rng.randrange(100_000_000):08d}"
        if number not in taken:
            taken.add(number)
            return number


def birth_date_pick(rng: random.Random, *, earliest: date, latest: date) -> date:
    """Return a date between ``earliest`` and ``latest`` (both included)."""
    return earliest + timedelta(days=rng.randrange((latest - earliest).days + 1))


def id_number_pick(
    rng: random.Random, *, region: str, birth: date, gender: str, taken: set[str]
) -> str:
    """Return a checksum-valid 18-character ID whose sequence digit matches ``gender``.

    The 17th digit is odd for men and even for women (GB 11643).
    """
    parity = 1 if gender == Gender.MALE else 0
    while True:
        number = make_id_number(region, birth, rng.randrange(500) * 2 + parity)
        if number not in taken:
            taken.add(number)
            return number
