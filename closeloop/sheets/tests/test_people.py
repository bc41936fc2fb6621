"""People and departments from a sheet: preview, row errors, all or nothing, admins only."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from closeloop.core.errors import NotAllowed
from closeloop.orgs.models import Membership, User
from closeloop.sheets.people import (
    HEADERS,
    PeopleImportRefused,
    people_import_apply,
    plan_people_import,
    write_people,
)
from closeloop.sheets.tests.conftest import read_rows, write_csv, write_xlsx
from closeloop.testing.clients import english_client


@pytest.fixture
def rows(sales, marketing):
    return [
        ["公司通讯录（2026年12月）"],
        ["姓名", "账号", "所属部门", "职位", "手机号", "邮箱", "企业微信", "钉钉", "飞书"],
        [
            "陈晨",
            "chen_chen",
            "SALES",
            "专员",
            "13900000001",
            "chen@example.com",
            "chenchen",
            "ding-1",
            "ou_1",
        ],
        ["刘洋", "liu_yang", "市场部", "经理", "13900000002", "liu@example.com", "", "", ""],
        [None] * 9,
    ]


def test_an_admin_previews_and_imports_people_with_their_departments(
    tmp_path, admin_user, sales, marketing, rows, zh
):
    path = write_xlsx(tmp_path / "people.xlsx", rows, merges=["A1:I1"])

    plan = plan_people_import(actor=admin_user, path=path)

    assert [(r.row, r.action, r.code) for r in plan.rows] == [
        (3, "create", "chen_chen"),
        (4, "create", "liu_yang"),
    ]
    assert plan.rows[0].changes["department"] == ("", "销售部")
    assert not User.objects.filter(username="chen_chen").exists()

    people_import_apply(actor=admin_user, path=path)

    chen = User.objects.get(username="chen_chen")
    assert (chen.name, chen.mobile, chen.wecom_id, chen.dingtalk_id, chen.feishu_id) == (
        "陈晨",
        "13900000001",
        "chenchen",
        "ding-1",
        "ou_1",
    )
    assert not chen.has_usable_password()
    assert Membership.objects.get(user=chen).department == sales
    assert Membership.objects.get(user__username="liu_yang", department=marketing).role == "manager"


def test_a_bad_row_is_named_and_nothing_is_stored(tmp_path, admin_user, sales, rows, zh):
    rows[3][2] = "财务部"
    rows[3][5] = "not-an-email"
    path = write_csv(tmp_path / "people.csv", rows, encoding="gbk")

    with pytest.raises(PeopleImportRefused) as refused:
        people_import_apply(actor=admin_user, path=path)

    assert refused.value.plan.rows[1].errors == [
        "第4行 邮箱：'not-an-email' 不是邮箱地址",
        "第4行 所属部门：没有部门 '财务部'（请先创建）",
    ]
    assert not User.objects.filter(username__in=["chen_chen", "liu_yang"]).exists()


def test_export_then_import_changes_nothing(tmp_path, admin_user, head, member, sales):
    path = tmp_path / "people.xlsx"
    path.write_bytes(write_people(admin_user).read())
    assert read_rows(path.read_bytes())[0] == tuple(HEADERS)

    plan = plan_people_import(actor=admin_user, path=path)

    assert plan.ok
    assert {r.action for r in plan.rows} == {"unchanged"}


def test_only_an_admin_imports_or_exports_people(tmp_path, head, rows):
    path = write_xlsx(tmp_path / "people.xlsx", rows)
    with pytest.raises(NotAllowed):
        plan_people_import(actor=head, path=path)
    with pytest.raises(NotAllowed):
        write_people(head)
    c = english_client(head)
    assert c.get("/sheets/people/").status_code == 403
    assert c.get("/sheets/people/export.xlsx").status_code == 403


def test_the_web_upload_previews_and_confirms(tmp_path, admin_user, sales, marketing, rows, settings):
    settings.SHEETS_UPLOAD_DIR = str(tmp_path / "uploads")
    c = english_client(admin_user)
    upload = SimpleUploadedFile("people.xlsx", write_xlsx(tmp_path / "p.xlsx", rows).read_bytes())

    page = c.post("/sheets/people/", {"file": upload})

    assert page.status_code == 200 and "chen_chen" in page.content.decode()
    token = next(iter(c.session["sheets_uploads"]))
    assert c.post(f"/sheets/import/{token}/confirm/").status_code == 302
    assert User.objects.filter(username__in=["chen_chen", "liu_yang"]).count() == 2
    assert list((tmp_path / "uploads").glob("*.upload")) == []


def test_a_text_file_named_xlsx_is_said_to_be_no_excel_file(tmp_path, admin_user, settings):
    settings.SHEETS_UPLOAD_DIR = str(tmp_path / "uploads")
    upload = SimpleUploadedFile("通讯录.xlsx", "姓名,账号\n陈晨,chen_chen\n".encode("gbk"))

    page = english_client(admin_user).post("/sheets/people/", {"file": upload})

    assert page.status_code == 422
    assert "not a valid Excel (.xlsx) file" in page.content.decode()
