"""``xiaowu verify_audit_chain``: recompute the audit hash chain and report tampering."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from xiaowu.audit.selectors import audit_chain_verify


class Command(BaseCommand):
    help = "校验审计日志哈希链：发现被篡改或删除的记录时以非零状态退出。"

    def handle(self, *args: Any, **options: Any) -> None:
        result = audit_chain_verify()
        if result.first_broken_id is not None:
            raise CommandError(
                f"审计日志哈希链在第 {result.first_broken_id} 号记录处断开"
                f"（此前 {result.checked} 条完好）。"
            )
        self.stdout.write(f"审计日志哈希链完好，共 {result.checked} 条记录。")
