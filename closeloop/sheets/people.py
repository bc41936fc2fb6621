"""People and their departments from a sheet (姓名, username, 部门, 角色, 手机, 邮箱, 企业微信 /
钉钉 / 飞书 ids), so a company onboards its directory in one step; and the directory back out.

Same rules as the task import: the header row found by its names, every row validated first,
a preview of create / update / unchanged / error per row, then all or nothing through
`orgs.services.person_upsert` (admins only). An empty cell keeps what is stored.
"""

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from closeloop.core.errors import DomainError, NotAllowed, ValidationFailed
from closeloop.orgs.models import Department, Membership, User
from closeloop.orgs.services import person_upsert
from closeloop.sheets import values as V
from closeloop.sheets.reading import open_rows

COLUMNS: dict[str, tuple[str, ...]] = {
    "name": ("姓名", "名字", "name"),
    "username": ("用户名", "账号", "登录名", "username", "login"),
    "department": ("部门", "所属部门", "department"),
    "role": ("角色", "职位", "岗位", "role"),
    "mobile": ("手机", "手机号", "手机号码", "电话", "mobile", "phone"),
    "email": ("邮箱", "电子邮箱", "邮件", "email", "e-mail"),
    "wecom_id": ("企业微信id", "企业微信", "企业微信账号", "wecom", "wecomid", "wecom_id"),
    "dingtalk_id": ("钉钉id", "钉钉", "钉钉账号", "dingtalk", "dingtalkid", "dingtalk_id"),
    "feishu_id": ("飞书id", "飞书", "飞书openid", "feishu", "feishuid", "feishu_id", "open_id"),
}
HEADERS = ["姓名", "用户名", "部门", "角色", "手机", "邮箱", "企业微信ID", "钉钉ID", "飞书ID"]
FIELD_ORDER = [
    "name",
    "username",
    "department",
    "role",
    "mobile",
    "email",
    "wecom_id",
    "dingtalk_id",
    "feishu_id",
]
LABELS = {
    "name": gettext_lazy("Name"),
    "username": gettext_lazy("Username"),
    "department": gettext_lazy("Department"),
    "role": gettext_lazy("Role"),
    "mobile": gettext_lazy("Mobile"),
    "email": gettext_lazy("Email"),
    "wecom_id": gettext_lazy("WeCom user id"),
    "dingtalk_id": gettext_lazy("DingTalk user id"),
    "feishu_id": gettext_lazy("Feishu open_id"),
}
ROLES = {
    Membership.Role.MANAGER: ("经理", "manager"),
    Membership.Role.SUPERVISOR: ("主管", "supervisor"),
    Membership.Role.SPECIALIST: ("专员", "specialist"),
}
ROLE_LABELS = {
    Membership.Role.MANAGER: "经理",
    Membership.Role.SUPERVISOR: "主管",
    Membership.Role.SPECIALIST: "专员",
}
USERNAME_RE = re.compile(r"^[\w.@+-]{1,150}$")
MOBILE_RE = re.compile(r"^\+?[\d\- ]{5,32}$")
MAX_LEN = {"name": 100, "mobile": 32, "email": 254, "wecom_id": 100, "dingtalk_id": 100, "feishu_id": 100}


def _key(value: Any) -> str:
    return V.text(value).replace(" ", "").replace("（", "(").replace("）", ")").lower()


@dataclass
class PersonRow:
    row: int
    action: str = "create"
    code: str = ""  # the username, as `code` so the preview shows it like a task ID
    title: str = ""  # the name
    values: dict[str, Any] = field(default_factory=dict)
    changes: dict[str, tuple[str, str]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict, repr=False)

    def error(self, column: str, message: str) -> None:
        label = self.labels.get(column) or str(LABELS[column])
        self.errors.append(
            _("Row %(row)s %(column)s: %(message)s") % {"row": self.row, "column": label, "message": message}
        )
        self.action = "error"


@dataclass
class PeoplePlan:
    header_row: int = 0
    columns: dict[str, int] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    rows: list[PersonRow] = field(default_factory=list)
    ignored: list[tuple[int, str]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems and not any(r.action == "error" for r in self.rows)

    def counts(self) -> dict[str, int]:
        out = {"create": 0, "update": 0, "unchanged": 0, "error": 0, "ignored": len(self.ignored)}
        for r in self.rows:
            out[r.action] += 1
        return out

    def errors(self) -> list[str]:
        return self.problems + [e for r in self.rows for e in r.errors]


def _departments() -> dict[str, Department]:
    found: dict[str, Department] = {}
    for d in Department.objects.all():
        found[d.code.lower()] = d
        found.setdefault(d.name.replace(" ", "").lower(), d)
    return found


def plan_people_import(*, actor: User, path: Path | str, name: str = "") -> PeoplePlan:
    """Read and validate every row of a people sheet; write nothing. Admins only
    (NotAllowed). ValidationFailed for an unreadable file or one without a header row."""
    if not actor.is_superuser:
        raise NotAllowed(_("Only an administrator can add or change people."))
    plan = PeoplePlan()
    rows = open_rows(path, name=name or Path(path).name)
    for number, cells in rows:
        found: dict[str, int] = {}
        for i, cell in enumerate(cells):
            k = _key(cell)
            for name, words in COLUMNS.items():
                if k in words and name not in found:
                    found[name] = i
        if "username" in found and len(found) >= 2:
            plan.header_row, plan.columns = number, found
            plan.headers = {n: V.text(cells[i]) for n, i in found.items()}
            break
        if number >= 30:
            break
    if not plan.header_row:
        raise ValidationFailed(
            _(
                "No header row found: the sheet needs a row with 用户名 (username) and 姓名, 部门, 手机 or 邮箱."
            ),
            fields={"file": [_("No header row found.")]},
        )
    departments = _departments()
    users = {u.username: u for u in User.objects.all()}
    memberships = {(m.user_id, m.department_id): m.role for m in Membership.objects.all()}
    seen: dict[tuple[str, int | None], int] = {}
    for number, cells in rows:
        data = {n: V.text(cells[i]) if i < len(cells) else "" for n, i in plan.columns.items()}
        if not any(data.values()):
            plan.ignored.append((number, _("blank row")))
            continue
        r = PersonRow(
            row=number, labels=plan.headers, code=data.get("username", ""), title=data.get("name", "")
        )
        plan.rows.append(r)
        for name, value in data.items():
            if "\x00" in value:
                r.error(name, _("contains a NUL character"))
                data[name] = ""
        username = data.get("username", "")
        if not username:
            r.error("username", _("required"))
        elif not USERNAME_RE.match(username):
            r.error("username", _("letters, digits and @ . + - _ only, at most 150"))
        fields: dict[str, str] = {}
        for name in ("name", "mobile", "email", "wecom_id", "dingtalk_id", "feishu_id"):
            value = data.get(name, "")
            if not value:
                continue
            if len(value) > MAX_LEN[name]:
                r.error(name, _("longer than %(n)s characters") % {"n": MAX_LEN[name]})
            elif name == "email":
                try:
                    validate_email(value)
                except ValidationError:
                    r.error(name, _("'%(value)s' is not an email address") % {"value": value[:60]})
            elif name == "mobile" and not MOBILE_RE.match(value):
                r.error(name, _("'%(value)s' is not a phone number") % {"value": value[:40]})
            fields[name] = value
        department = None
        if data.get("department"):
            department = departments.get(data["department"].lower()) or departments.get(
                data["department"].replace(" ", "").lower()
            )
            if department is None:
                r.error(
                    "department",
                    _("no department '%(d)s' (create it first)") % {"d": data["department"][:40]},
                )
        role = None
        if data.get("role"):
            key = _key(data["role"])
            role = next((str(k) for k, words in ROLES.items() if key in words), None)
            if role is None:
                r.error(
                    "role", _("'%(value)s' is not a role (经理, 主管 or 专员)") % {"value": data["role"][:40]}
                )
        key = (username, department.pk if department else None)
        if username and key in seen:
            r.error("username", _("%(code)s is also on row %(row)s") % {"code": username, "row": seen[key]})
        seen[key] = number
        if r.action == "error":
            continue
        r.values = {"username": username, "fields": fields, "department": department, "role": role}
        person = users.get(username)
        if person is None:
            r.action = "create"
            for name, value in fields.items():
                r.changes[name] = ("", value)
            if department is not None:
                r.changes["department"] = ("", department.name)
                r.changes["role"] = ("", ROLE_LABELS[role or Membership.Role.SPECIALIST])
            continue
        for name, value in fields.items():
            if getattr(person, name) != value:
                r.changes[name] = (getattr(person, name), value)
        if department is not None:
            current = memberships.get((person.pk, department.pk))
            if current is None:
                r.changes["department"] = ("", department.name)
                r.changes["role"] = ("", ROLE_LABELS[role or Membership.Role.SPECIALIST])
            elif role is not None and current != role:
                r.changes["role"] = (ROLE_LABELS[current], ROLE_LABELS[role])
        r.values["fields"] = {k: v for k, v in fields.items() if k in r.changes}
        r.action = "update" if r.changes else "unchanged"
    if not plan.rows:
        plan.problems.append(
            _("The sheet has no rows below its header (row %(row)s).") % {"row": plan.header_row}
        )
    return plan


class PeopleImportRefused(ValidationFailed):
    def __init__(self, message: str, *, plan: PeoplePlan):
        super().__init__(message, fields={"file": plan.errors()[:50]})
        self.plan = plan


def people_import_apply(
    *, actor: User, path: Path | str, dry_run: bool = False, name: str = ""
) -> PeoplePlan:
    """Validate, then (unless `dry_run`) write every row in one transaction through
    `orgs.services.person_upsert`. All or nothing: raises PeopleImportRefused with the plan."""
    plan = plan_people_import(actor=actor, path=path, name=name)
    if dry_run:
        return plan
    if not plan.ok:
        raise PeopleImportRefused(
            _("Nothing was imported: %(n)s rows have errors.") % {"n": plan.counts()["error"]}, plan=plan
        )
    current = None
    try:
        with transaction.atomic():
            for current in plan.rows:
                if current.action in ("create", "update"):
                    v = current.values
                    person_upsert(
                        actor=actor,
                        username=v["username"],
                        fields=v["fields"],
                        department=v["department"],
                        role=v["role"],
                    )
    except (DomainError, ValidationError) as exc:
        message = getattr(exc, "message", None) or "; ".join(getattr(exc, "messages", [str(exc)]))
        if current is not None:
            current.errors.append(_("Row %(row)s: %(message)s") % {"row": current.row, "message": message})
            current.action = "error"
        raise PeopleImportRefused(
            _("Nothing was imported: %(message)s") % {"message": message}, plan=plan
        ) from exc
    return plan


def write_people(actor: User, out: IO[bytes] | None = None) -> IO[bytes]:
    """The directory as .xlsx in the import's own columns: one row per membership (a person
    in no department: one row without). Admins only."""
    import tempfile

    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    from closeloop.sheets.exporting import safe

    if not actor.is_superuser:
        raise NotAllowed(_("Only an administrator can export the people directory."))
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("人员")
    ws.freeze_panes = "A2"
    for letter, width in zip("ABCDEFGHI", (12, 18, 14, 8, 16, 26, 18, 18, 22), strict=True):
        ws.column_dimensions[letter].width = width
    header = []
    for h in HEADERS:
        c = WriteOnlyCell(ws, h)
        c.font = Font(bold=True)
        header.append(c)
    ws.append(header)
    members: dict[int, list[tuple[str, str]]] = {}
    for user_id, code, role in Membership.objects.order_by("department__code").values_list(
        "user_id", "department__code", "role"
    ):
        members.setdefault(user_id, []).append((code, ROLE_LABELS.get(role, role)))
    for u in User.objects.filter(is_active=True).order_by("username").iterator(chunk_size=2000):
        for code, role in members.get(u.pk, [("", "")]):
            row = []
            for value in (
                u.name,
                u.username,
                code,
                role,
                u.mobile,
                u.email,
                u.wecom_id,
                u.dingtalk_id,
                u.feishu_id,
            ):
                if safe(value):
                    c = WriteOnlyCell(ws, value)
                    c.data_type = "s"
                    c.quotePrefix = True
                    row.append(c)
                else:
                    row.append(value)
            ws.append(row)
    out = out or tempfile.TemporaryFile(suffix=".xlsx")  # noqa: SIM115 - the caller closes it
    wb.save(out)
    out.seek(0)
    return out
