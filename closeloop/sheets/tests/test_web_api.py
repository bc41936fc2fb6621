"""Upload → preview → confirm on the web, and the `imports` API."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from closeloop.sheets import uploads
from closeloop.sheets.tests.conftest import HEADER, write_xlsx
from closeloop.tasks.models import Task, TaskEvent
from closeloop.testing.clients import english_client

GOOD = [
    ["销售部 2026年10月"],
    HEADER,
    ["", "老用户召回活动", "项目型", "高", "李娜", "2026-10-15", "60%", "进行中", ""],
]
BAD = GOOD + [["", "渠道拜访", "事务型", "高", "王五", "2026-10-15", "", "", ""]]


@pytest.fixture
def upload_dir(tmp_path, settings):
    settings.SHEETS_UPLOAD_DIR = str(tmp_path / "uploads")
    return tmp_path / "uploads"


def _file(tmp_path, rows, name="清单.xlsx"):
    return SimpleUploadedFile(name, write_xlsx(tmp_path / name, rows).read_bytes())


def test_upload_previews_then_confirm_imports_and_leaves_no_file(tmp_path, head, sales, manager, upload_dir):
    c = english_client(head)
    assert c.get("/sheets/import/").status_code == 200

    page = c.post("/sheets/import/", {"department": sales.pk, "file": _file(tmp_path, GOOD)})

    assert page.status_code == 200
    html = page.content.decode()
    assert "老用户召回活动" in html and "Confirm import" in html
    assert not Task.objects.exists()
    token = next(iter(c.session[uploads.SESSION_KEY]))
    assert len(list(upload_dir.glob("*.upload"))) == 1

    done = c.post(f"/sheets/import/{token}/confirm/")

    assert done.status_code == 302
    task = Task.objects.get(department=sales)
    assert (task.title, task.progress, task.owner) == ("老用户召回活动", 60, manager)
    assert TaskEvent.objects.filter(task=task, actor=head, verb="created").exists()
    assert list(upload_dir.glob("*.upload")) == []
    assert c.post(f"/sheets/import/{token}/confirm/").status_code == 302  # gone: upload again
    assert Task.objects.count() == 1


def test_a_file_with_errors_shows_them_and_is_not_kept(tmp_path, head, sales, manager, upload_dir):
    c = english_client(head)

    page = c.post("/sheets/import/", {"department": sales.pk, "file": _file(tmp_path, BAD)})

    assert page.status_code == 422
    assert "Row 4 负责人: cannot find &#x27;王五&#x27;" in page.content.decode()
    assert "Confirm import" not in page.content.decode()
    assert list(upload_dir.glob("*.upload")) == []
    assert not Task.objects.exists()


def test_cancel_deletes_the_upload(tmp_path, head, sales, manager, upload_dir):
    c = english_client(head)
    c.post("/sheets/import/", {"department": sales.pk, "file": _file(tmp_path, GOOD)})
    token = next(iter(c.session[uploads.SESSION_KEY]))

    c.post(f"/sheets/import/{token}/cancel/")

    assert list(upload_dir.glob("*.upload")) == []
    assert not Task.objects.exists()


def test_another_person_cannot_confirm_my_upload(tmp_path, head, member, sales, manager, upload_dir):
    c = english_client(head)
    c.post("/sheets/import/", {"department": sales.pk, "file": _file(tmp_path, GOOD)})
    token = next(iter(c.session[uploads.SESSION_KEY]))

    english_client(member).post(f"/sheets/import/{token}/confirm/")

    assert not Task.objects.exists()


def test_an_outsider_cannot_pick_a_department_they_do_not_see(tmp_path, outsider, sales, manager, upload_dir):
    page = english_client(outsider).post(
        "/sheets/import/", {"department": sales.pk, "file": _file(tmp_path, GOOD)}
    )

    assert page.status_code == 422
    assert not Task.objects.exists()
    assert list(upload_dir.glob("*.upload")) == []


def test_an_oversized_upload_is_refused_with_a_message(tmp_path, head, sales, upload_dir, settings):
    settings.SHEETS_MAX_UPLOAD_BYTES = 100
    page = english_client(head).post(
        "/sheets/import/", {"department": sales.pk, "file": _file(tmp_path, GOOD)}
    )

    assert page.status_code == 422
    assert "the limit is" in page.content.decode()
    assert list(upload_dir.glob("*.upload")) == []


def _api(user):
    from closeloop.orgs.services import api_token_create

    _, raw = api_token_create(actor=user, name="t")
    return english_client(user), {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def test_the_api_dry_run_previews_and_the_real_run_imports(tmp_path, head, sales, manager):
    c, auth = _api(head)

    dry = c.post(
        "/api/v1/imports", {"department": "SALES", "dry_run": "true", "file": _file(tmp_path, GOOD)}, **auth
    )

    assert dry.status_code == 200, dry.content
    body = dry.json()
    assert (body["ok"], body["applied"], body["counts"]["create"]) == (True, False, 1)
    assert body["rows"][0]["changes"]["owner"] == ["", "李娜"]
    assert not Task.objects.exists()

    real = c.post("/api/v1/imports", {"department": "SALES", "file": _file(tmp_path, GOOD)}, **auth)
    assert real.status_code == 200 and real.json()["applied"]
    assert Task.objects.count() == 1


def test_the_api_refuses_a_file_with_errors_and_names_the_rows(tmp_path, head, sales, manager):
    c, auth = _api(head)

    response = c.post("/api/v1/imports", {"department": "SALES", "file": _file(tmp_path, BAD)}, **auth)

    assert response.status_code == 422
    body = response.json()
    assert body["plan"]["rows"][1]["errors"] == ["Row 4 负责人: cannot find '王五'"]
    assert not Task.objects.exists()


def test_the_api_import_is_a_404_for_a_department_one_may_not_see(tmp_path, outsider, sales, manager):
    c, auth = _api(outsider)

    response = c.post("/api/v1/imports", {"department": "SALES", "file": _file(tmp_path, GOOD)}, **auth)

    assert response.status_code == 404
    assert not Task.objects.exists()


def test_a_huge_upload_is_refused_before_it_is_read(tmp_path, head, sales, upload_dir, settings):
    settings.SHEETS_MAX_UPLOAD_BYTES = 1000
    big = SimpleUploadedFile("big.csv", b"x" * 200_000)

    page = english_client(head).post("/sheets/import/", {"department": sales.pk, "file": big})

    assert page.status_code == 413
    assert "the limit is" in page.content.decode()
    assert not upload_dir.exists() or list(upload_dir.iterdir()) == []


def test_the_preview_cuts_a_long_cell_to_a_line_and_keeps_the_whole_value_in_its_title(
    tmp_path, head, sales, manager, upload_dir
):
    long_name = "超长任务名称" * 100  # 600 characters
    rows = [*GOOD[:2], ["", long_name, "项目型", "高", "李娜", "2026-10-15", "", "", "备注" * 300]]

    page = english_client(head).post(
        "/sheets/import/", {"department": sales.pk, "file": _file(tmp_path, rows)}
    )

    assert page.status_code == 422
    html = page.content.decode()
    # The cell shows a phone line of it; the whole name is in the title attribute, once.
    assert html.count(long_name) == 1 and f'title="{long_name}"' in html
    assert long_name[:79] + "…" in html
    # The row error names the field (as the sheet's header says it) and its limit.
    assert "Row 3 任务名称: longer than 200 characters (600)" in html
    assert "备注: longer" not in html  # 600 characters: within its 5000
