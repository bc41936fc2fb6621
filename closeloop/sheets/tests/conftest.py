"""Builders of messy sheets, as departments save them, for the import tests."""

import csv
import io
import re
import zipfile
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook

from closeloop.testing.factories import UserFactory, add_member

HEADER = [
    "任务ID",
    "任务名称",
    "任务类型",
    "优先级",
    "负责人",
    "截止日期",
    "当前进度",
    "状态",
    "备注(如关联项目/客户)",
]


def write_xlsx(path: Path, rows, *, merges=(), cached: dict[str, str] | None = None) -> Path:
    """An .xlsx with `rows` (lists of values; '=…' strings become formulas). `cached` gives a
    formula cell (e.g. {"G4": "0.6"}) the value Excel would have stored after computing it —
    openpyxl itself never computes, so that value is written into the sheet's XML."""
    wb = Workbook()
    ws = wb.active
    for row in rows:
        ws.append(row)
    for rng in merges:
        ws.merge_cells(rng)
    wb.save(path)
    if cached:
        with zipfile.ZipFile(path) as zf:
            parts = {name: zf.read(name) for name in zf.namelist()}
        xml = parts["xl/worksheets/sheet1.xml"].decode()
        for ref, value in cached.items():
            xml = re.sub(
                rf'(<c r="{ref}"[^>]*>\s*<f>[^<]*</f>)\s*(?:<v\s*/>|<v></v>)', rf"\1<v>{value}</v>", xml
            )
        parts["xl/worksheets/sheet1.xml"] = xml.encode()
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
            for name, data in parts.items():
                zf.writestr(name, data)
    return path


def write_csv(path: Path, rows, *, encoding: str = "utf-8", bom: bool = False) -> Path:
    buf = io.StringIO()
    csv.writer(buf).writerows(rows)
    data = buf.getvalue().encode(encoding)
    if bom:
        data = b"\xef\xbb\xbf" + data
    path.write_bytes(data)
    return path


def read_rows(data: bytes):
    return list(load_workbook(io.BytesIO(data), read_only=True).active.iter_rows(values_only=True))


@pytest.fixture
def manager(sales):
    """李娜, a manager in 销售部 with a mobile number."""
    user = UserFactory(username="li_na", name="李娜", mobile="13800000001")
    add_member(user, sales, "manager")
    return user


@pytest.fixture
def zh(settings):
    from django.utils import translation

    with translation.override("zh-hans"):
        yield
