"""`closeloop backup` and `closeloop restore` (issue 11, item 12): a round trip on the
database the suite runs on (SQLite or PostgreSQL), checked by row counts and checksums."""

import json

import pytest
from django.core.management import CommandError, call_command

from closeloop.core.backup import current_manifest, manifest_path
from closeloop.orgs.models import Membership, User
from closeloop.tasks.models import Task
from closeloop.testing.factories import DepartmentFactory, UserFactory, make_task

pytestmark = pytest.mark.django_db(transaction=True)


def _data():
    company = DepartmentFactory(code="HQ", name="总公司")
    sales = DepartmentFactory(code="SALES", name="销售部", parent=company)
    head = UserFactory(username="head", name="王总")
    from closeloop.testing.factories import add_member

    add_member(head, sales, Membership.Role.MANAGER)
    sales.head = head
    sales.save(update_fields=["head"])
    for i in range(5):
        make_task(actor=head, department=sales, owner=head, title=f"季度复盘 {i}（含“引号”与\\n换行）")
    return head


def test_a_backup_restores_every_row_as_it_was(tmp_path, capsys):
    _data()
    before = current_manifest()
    out = tmp_path / "closeloop.backup"
    call_command("backup", output=str(out))
    assert out.exists() and manifest_path(out).exists()
    manifest = json.loads(manifest_path(out).read_text())
    assert manifest["tables"] == before
    assert manifest["tables"][Task._meta.db_table]["rows"] == 5

    # Lose and change things after the backup…
    Task.objects.filter(title__endswith="0（含“引号”与\\n换行）").delete()
    Task.objects.update(title="被改掉了")
    UserFactory(username="later")
    assert current_manifest() != before

    call_command("restore", str(out), yes=True)
    assert current_manifest() == before
    assert Task.objects.count() == 5 and not Task.objects.filter(title="被改掉了").exists()
    assert not User.objects.filter(username="later").exists()
    assert "row counts and checksums match" in capsys.readouterr().out


def test_restore_refuses_a_backup_without_its_manifest_or_a_damaged_one(tmp_path):
    _data()
    out = tmp_path / "b.backup"
    call_command("backup", output=str(out))
    manifest = json.loads(manifest_path(out).read_text())
    table = Task._meta.db_table
    manifest["tables"][table]["sha256"] = "0" * 64
    manifest_path(out).write_text(json.dumps(manifest))
    with pytest.raises(CommandError, match=table):
        call_command("restore", str(out), yes=True)
    manifest_path(out).unlink()
    with pytest.raises(CommandError, match="manifest"):
        call_command("restore", str(out), yes=True)
    with pytest.raises(CommandError, match="exists already"):
        call_command("backup", output=str(out))
