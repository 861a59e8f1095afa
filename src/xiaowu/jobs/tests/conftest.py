from __future__ import annotations

import pytest

from xiaowu.jobs.registry import JOB_KINDS
from xiaowu.jobs.tests import runners


@pytest.fixture
def sample_kind(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setitem(JOB_KINDS, runners.KIND, runners.__name__)
    return runners.KIND
