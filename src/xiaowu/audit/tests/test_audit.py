"""AUD-01/03/05: audit rows are written with the action, chained, and cannot be changed."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.db import DatabaseError, transaction

from xiaowu.audit.models import AuditEvent
from xiaowu.audit.selectors import chain_check
from xiaowu.audit.services import audit_record, diff

pytestmark = pytest.mark.django_db


def test_rows_are_chained_and_verify(world):
    first = audit_record(
        actor=world.users["principal"], action="update", event="t.one", org_unit_id=world.school.pk
    )
    second = audit_record(actor=None, action="login_failed", event="t.two", actor_label="某人")
    assert second.prev_hash == first.row_hash
    assert first.actor_roles == "校长"
    out = StringIO()
    call_command("verify_audit_chain", stdout=out)
    assert "共 2 条记录" in out.getvalue()


def test_chain_check_finds_a_tampered_row(world):
    audit_record(actor=None, action="update", event="t.one")
    audit_record(actor=None, action="update", event="t.two", changes={"x": 1})
    rows = list(AuditEvent.objects.order_by("id"))
    rows[1].changes = {"x": 2}  # edited after the fact
    assert chain_check(rows).first_broken_id == rows[1].pk
    assert chain_check(list(AuditEvent.objects.order_by("id"))).first_broken_id is None


@pytest.mark.parametrize("operation", ["update", "delete"])
def test_database_refuses_to_change_audit_rows(world, operation):
    event = audit_record(actor=None, action="update", event="t.one")
    rows = AuditEvent.objects.filter(pk=event.pk)
    change = (lambda: rows.update(event="t.changed")) if operation == "update" else rows.delete
    with pytest.raises(DatabaseError), transaction.atomic():
        change()
    assert AuditEvent.objects.get(pk=event.pk).event == "t.one"


def test_unknown_action_is_refused():
    with pytest.raises(ValueError, match="Unknown audit action"):
        audit_record(actor=None, action="frobnicate", event="t")


def test_diff_reports_only_changed_fields():
    assert diff({"a": 1, "b": 2}, {"a": 1, "b": 3, "c": None}) == {"b": {"before": 2, "after": 3}}
