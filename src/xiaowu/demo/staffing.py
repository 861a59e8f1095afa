"""Staff files of the demo district beyond name and post: 学历, 职称, status periods, honours,
and what each class is taught (subjects and weekly periods by stage).

Pure functions of the values passed in and the plan's ``random.Random``.
"""

from __future__ import annotations

import random
from datetime import date, timedelta

from xiaowu.demo.plans import HonourPlan, StaffPeriodPlan
from xiaowu.staff.models import (
    Education,
    HonourLevel,
    HonourTitle,
    ProfessionalTitle,
    StaffStatus,
)

E, T = Education, ProfessionalTitle

# Share of the 专任教师 holding a 荣誉称号 (骨干教师, 学科带头人, 教学能手, 教坛新秀).
HONOUR_SHARE = 0.15
# Share of teachers on post who were 借调 or on 长病假 for a while in earlier years.
PAST_PERIOD_SHARE = 0.03
HONOUR_LEVELS: tuple[tuple[str, int], ...] = (
    (HonourLevel.COUNTY, 60),
    (HonourLevel.CITY, 30),
    (HonourLevel.PROVINCE, 10),
)
LEVEL_PREFIX: dict[str, str] = {
    HonourLevel.COUNTY: "县级",
    HonourLevel.CITY: "市级",
    HonourLevel.PROVINCE: "省级",
}
SECONDMENT_UNITS = ("示范县教育局教研室", "示范县教师发展中心", "示范县教育局督导室")

# Subjects taught to a class of each grade: 英语 from 三年级; middle-school subjects by grade.
LOWER_PRIMARY_SUBJECTS = ("语文", "数学", "道德与法治", "科学", "体育", "音乐", "美术")
UPPER_PRIMARY_SUBJECTS = ("语文", "数学", "英语", "道德与法治", "科学", "体育", "音乐", "美术")
MIDDLE_SUBJECTS: dict[int, tuple[str, ...]] = {
    7: ("语文", "数学", "英语", "生物", "道德与法治", "历史", "地理", "体育", "音乐", "美术"),
    8: ("语文", "数学", "英语", "物理", "生物", "道德与法治", "历史", "地理", "体育"),
    9: ("语文", "数学", "英语", "物理", "化学", "道德与法治", "历史", "体育"),
}
PRIMARY_PERIODS = {
    "语文": 8,
    "数学": 5,
    "英语": 3,
    "道德与法治": 2,
    "科学": 2,
    "体育": 4,
    "音乐": 2,
    "美术": 2,
}
MIDDLE_PERIODS = {
    "语文": 6,
    "数学": 6,
    "英语": 5,
    "物理": 3,
    "化学": 3,
    "生物": 2,
    "道德与法治": 2,
    "历史": 2,
    "地理": 2,
    "体育": 3,
    "音乐": 1,
    "美术": 1,
}


def class_subjects(grade: int) -> tuple[str, ...]:
    """Return the subjects a class of ``grade`` is taught (a kindergarten class: none)."""
    if grade < 1:
        return ()
    if grade >= 7:
        return MIDDLE_SUBJECTS.get(grade, MIDDLE_SUBJECTS[9])
    return LOWER_PRIMARY_SUBJECTS if grade <= 2 else UPPER_PRIMARY_SUBJECTS


def weekly_periods(subject: str, grade: int) -> int:
    return (MIDDLE_PERIODS if grade >= 7 else PRIMARY_PERIODS).get(subject, 2)


def _pick(rng: random.Random, options: tuple[tuple[str, int], ...]) -> str:
    return rng.choices([value for value, _ in options], [weight for _, weight in options])[0]


def education_and_title(
    rng: random.Random,
    *,
    age: int,
    is_teacher: bool,
    is_principal: bool,
    status: str,
    kindergarten: bool,
    rural: bool,
) -> tuple[str, str]:
    """Return (学历, 职称) plausible for the person's age, post and school."""
    if is_principal:
        return _pick(rng, ((E.MASTER, 2), (E.BACHELOR, 8))), _pick(
            rng, ((T.SENIOR, 7), (T.FIRST, 3))
        )
    if not is_teacher:
        return _pick(rng, ((E.BACHELOR, 3), (E.ASSOCIATE, 5), (E.SECONDARY, 2))), T.NONE
    if status == StaffStatus.SUBSTITUTE:
        return _pick(rng, ((E.BACHELOR, 5), (E.ASSOCIATE, 5))), T.NONE
    master = 4 if rural else 12
    if kindergarten:
        education = _pick(rng, ((E.BACHELOR, 45), (E.ASSOCIATE, 50), (E.SECONDARY, 5)))
    elif age < 35:
        education = _pick(rng, ((E.MASTER, master), (E.BACHELOR, 76), (E.ASSOCIATE, 20)))
    elif age < 45:
        education = _pick(rng, ((E.MASTER, master // 2), (E.BACHELOR, 78), (E.ASSOCIATE, 20)))
    else:
        education = _pick(rng, ((E.BACHELOR, 58), (E.ASSOCIATE, 38), (E.SECONDARY, 4)))
    if age < 26:
        title = _pick(rng, ((T.NONE, 4), (T.SECOND, 6)))
    elif age < 35:
        title = _pick(rng, ((T.SECOND, 55), (T.FIRST, 45)))
    elif age < 45:
        title = _pick(rng, ((T.SECOND, 10), (T.FIRST, 65), (T.SENIOR, 25)))
    else:
        title = _pick(rng, ((T.SECOND, 4), (T.FIRST, 50), (T.SENIOR, 45), (T.SENIOR_PLUS, 1)))
    return education, title


def started_work(rng: random.Random, *, birth_date: date, age: int, latest: date) -> date:
    """Return 参加工作时间: the August after finishing school at 20–24, not after ``latest``."""
    finished = min(age, rng.randint(20, 24))
    return min(date(birth_date.year + finished, 8, 1), latest)


def status_periods(
    rng: random.Random,
    *,
    id_number: str,
    status: str,
    started: date,
    today: date,
    current_year: int,
    with_history: bool,
) -> list[StaffPeriodPlan]:
    """Return the person's status periods, the last one open and equal to ``status``.

    ``with_history``: a teacher on post who was 借调 or on 长病假 earlier.
    """
    year_start = date(current_year, 9, 1)
    if status == StaffStatus.LONG_SICK_LEAVE:
        since = max(today - timedelta(days=rng.randint(30, 200)), started + timedelta(days=1))
        return [
            StaffPeriodPlan(id_number, StaffStatus.ON_POST, started, since),
            StaffPeriodPlan(id_number, status, since, None, note="因病长期休养"),
        ]
    if status == StaffStatus.SECONDED_IN:
        since = max(year_start, started)
        return [
            StaffPeriodPlan(
                id_number, status, since, None, counterpart="示范县第二中学", note="借调支教一年"
            )
        ]
    if status == StaffStatus.SUBSTITUTE:
        since = max(date(current_year - rng.randint(0, 2), 9, 1), started)
        return [StaffPeriodPlan(id_number, status, since, None, note="代课教师")]
    if with_history:
        first_year = max(started.year + 2, current_year - 6)
        if first_year <= current_year - 2:
            begin = date(rng.randint(first_year, current_year - 2), 9, 1)
            if rng.random() < 0.6:
                until = date(begin.year + 1, 8, 31)
                middle = StaffPeriodPlan(
                    id_number,
                    StaffStatus.SECONDED_OUT,
                    begin,
                    until,
                    counterpart=rng.choice(SECONDMENT_UNITS),
                    note="借调一年",
                )
            else:
                until = begin + timedelta(days=rng.randint(90, 240))
                middle = StaffPeriodPlan(
                    id_number, StaffStatus.LONG_SICK_LEAVE, begin, until, note="病休"
                )
            return [
                StaffPeriodPlan(id_number, StaffStatus.ON_POST, started, begin),
                middle,
                StaffPeriodPlan(id_number, StaffStatus.ON_POST, until, None),
            ]
    return [StaffPeriodPlan(id_number, status, started, None)]


def honour(
    rng: random.Random,
    *,
    id_number: str,
    age: int,
    subject: str,
    started: date,
    today: date,
    issuers: dict[str, str],
) -> HonourPlan | None:
    """Return one 荣誉称号 fitting the teacher's age, awarded on a 教师节, or None if the
    teacher has not worked long enough for one."""
    if age < 35:
        title = _pick(
            rng,
            (
                (HonourTitle.RISING_STAR, 5),
                (HonourTitle.TEACHING_EXPERT, 3),
                (HonourTitle.KEY_TEACHER, 2),
            ),
        )
    elif age < 45:
        title = _pick(
            rng,
            (
                (HonourTitle.KEY_TEACHER, 45),
                (HonourTitle.TEACHING_EXPERT, 35),
                (HonourTitle.SUBJECT_LEADER, 20),
            ),
        )
    else:
        title = _pick(
            rng,
            (
                (HonourTitle.KEY_TEACHER, 5),
                (HonourTitle.SUBJECT_LEADER, 4),
                (HonourTitle.TEACHING_EXPERT, 1),
            ),
        )
    level = _pick(rng, HONOUR_LEVELS)
    latest = today.year if (today.month, today.day) >= (9, 10) else today.year - 1
    earliest = max(started.year + 3, today.year - 8)
    if earliest > latest:
        return None
    awarded = date(rng.randint(earliest, latest), 9, 10)
    return HonourPlan(
        staff_id_number=id_number,
        title=title,
        title_text=f"{awarded.year}年{LEVEL_PREFIX[level]}{HonourTitle(title).label}",
        level=level,
        subject=subject,
        awarded_on=awarded,
        issuer=issuers[level],
    )
