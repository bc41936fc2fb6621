"""A fast generator of a realistic Closeloop dataset for the benchmark.

    python -m bench.generate                      # 50 people, 5 departments, 20,000 tasks, SQLite
    python -m bench.generate --scale 0.1          # a tenth of that
    python -m bench.generate --tasks 5000 --people 30 --database-url postgres://postgres@127.0.0.1:5432/cl_bench

It always starts from a FRESH database (the SQLite file is deleted, the PostgreSQL database is
dropped and created), migrates it and fills it step by step. Each step is a function
registered with `@step("name")` that adds rows and may read what earlier steps left in the
`Context` (people, departments, tasks …). Later features add their own rows (daily updates,
delay warnings, issues …) by appending a step at the end of this file.

This is the ONE place in the project that writes domain rows without the services: going
through `task_create` for 20,000 tasks would take minutes, and the benchmark measures reads.
It writes with `save` (COPY on PostgreSQL) in one transaction (`bulk_load`: foreign keys and
non-unique indexes set aside and rebuilt after the rows), with ids assigned here (so paths
and codes are known up front) and the sequences reset afterwards, keeping every rule the
services keep: per-department codes T001 / T001-1, materialised paths, depth, next_child_number,
original_due_date = due_date, progress and timestamps consistent with the status, one owner.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from operator import itemgetter
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlsplit, urlunsplit
from zoneinfo import ZoneInfo

PROJECT_DIR = Path(__file__).resolve().parent.parent
# Databases, logs and source snapshots of the benchmark (overridable for a run from a snapshot).
BENCH_VAR = Path(os.environ.get("CLOSELOOP_BENCH_VAR") or PROJECT_DIR / "var" / "bench")
DEFAULT_POSTGRES_URL = "postgres://postgres@127.0.0.1:5432/cl_bench"
BENCH_PASSWORD = "bench-password-1"  # every generated person; the runner logs in with it
BENCH_SECRET_KEY = "closeloop-bench-only-secret-key-7f3c1a9e5b2d4f6a8c0e1b3d5f7a9c2e4b6d8f0a"

# Defaults at scale 1.
BASE_PEOPLE = 50
BASE_DEPARTMENTS = 5
BASE_TASKS = 20_000


# -- environment ---------------------------------------------------------------------------


def sqlite_url(scale_label: str) -> str:
    return f"sqlite:///{BENCH_VAR / f'bench-{scale_label}.sqlite3'}"


def production_env(database_url: str) -> dict[str, str]:
    """The environment the app runs with in the benchmark: as in production."""
    return {
        "DJANGO_SETTINGS_MODULE": "closeloop.settings",
        "DATABASE_URL": database_url,
        "DEBUG": "0",
        "CLOSELOOP_DEMO": "0",
        "SECRET_KEY": BENCH_SECRET_KEY,
        "ALLOWED_HOSTS": "127.0.0.1",
        "LOG_LEVEL": "WARNING",
    }


def configure(database_url: str) -> None:
    """Point this process's Django at the bench database (before django.setup())."""
    os.environ.update(production_env(database_url))
    import django

    django.setup()


def fresh_database(database_url: str) -> None:
    """Delete the SQLite file, or drop and create the PostgreSQL database. Must run before
    Django opens a connection to it."""
    parts = urlsplit(database_url)
    if parts.scheme.startswith("sqlite"):
        path = Path(parts.path[1:] if parts.path.startswith("//") else parts.path)
        path.parent.mkdir(parents=True, exist_ok=True)
        for suffix in ("", "-wal", "-shm", "-journal"):
            with contextlib.suppress(FileNotFoundError):
                Path(str(path) + suffix).unlink()
        return
    if parts.scheme.startswith("postgres"):
        import psycopg
        from psycopg import sql

        name = parts.path.lstrip("/")
        if not name or name in ("postgres", "template0", "template1"):
            raise SystemExit(f"Refusing to drop the database {name!r}; name a bench database, e.g. cl_bench.")
        admin_url = urlunsplit(parts._replace(path="/postgres"))
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return
    raise SystemExit(f"Unsupported database URL: {database_url}")


def migrate() -> float:
    from django.core.management import call_command

    t0 = time.perf_counter()
    call_command("migrate", verbosity=0, interactive=False)
    tune_database()
    return time.perf_counter() - t0


def tune_database() -> None:
    """On PostgreSQL, what README's production section asks of a database that fits in memory
    or sits on SSDs (as the benchmark's does): `random_page_cost = 1.1`, for this database's
    sessions from now on (the server started afterwards) and this one. With the default 4
    the planner hash-joins whole tables for the pages' small "these rows by id" reads (我的工作's
    rows read every task forecast: 1.6 → 0.5 ms at bench s5)."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_database()")
        name = connection.ops.quote_name(cursor.fetchone()[0])
        cursor.execute(f"ALTER DATABASE {name} SET random_page_cost = 1.1")
        cursor.execute("SET random_page_cost = 1.1")


# -- vocabularies (from the handbook's examples and the way business departments write) -----

SURNAMES = list(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦方白邹孟熊秦邱江尹薛段雷侯龙史贺顾毛郝龚邵万钱严覃武戴"
)
GIVEN = list(
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉萍红鹏飞斌浩宇欣婷雪琳晨阳博凯子涵佳怡思雨宁然俊诺文晓倩嘉"
)

DEPARTMENTS = [
    ("SALES", "销售部"),
    ("MKT", "市场部"),
    ("PROD", "产品部"),
    ("OPS", "运营部"),
    ("TECH", "技术部"),
    ("CS", "客服部"),
    ("FIN", "财务部"),
    ("HR", "人力资源部"),
    ("BD", "商务拓展部"),
    ("QA", "质量部"),
]

# Top-level work per department; other departments draw from all of them.
TOPICS: dict[str, list[str]] = {
    "SALES": [
        "月度销售报表",
        "季度销售复盘",
        "客户签约跟进",
        "老客户回访",
        "大客户拜访计划",
        "销售线索清洗",
        "渠道返利核算",
        "合同续签推进",
        "报价单审核",
        "区域销售目标拆解",
        "产品推介会",
        "投标文件准备",
        "回款催收",
        "CRM客户数据整理",
        "销售周报表",
        "重点客户需求收集",
    ],
    "MKT": [
        "老用户召回活动",
        "新品发布会策划",
        "推广物料准备",
        "公众号内容排期",
        "品牌联名方案",
        "竞品市场分析",
        "用户画像分析",
        "渠道投放效果评估",
        "直播活动策划",
        "展会参展筹备",
        "市场周报",
        "会员日活动",
        "短视频投放方案",
        "活动数据报表",
    ],
    "PROD": [
        "客户需求调研",
        "新功能需求评审",
        "产品路线图更新",
        "活动页面原型设计",
        "用户访谈",
        "版本发布说明",
        "竞品功能对比",
        "埋点方案设计",
        "产品体验走查",
        "需求池整理",
        "新功能上线",
        "用户反馈分析",
    ],
    "OPS": [
        "用户流程优化",
        "社群运营方案",
        "活动数据复盘",
        "会员积分规则调整",
        "客服工单分析",
        "内容审核规范",
        "运营日报表",
        "用户留存分析",
        "渠道合作对接",
        "用户满意度调查",
        "运营数据报表",
    ],
    "TECH": [
        "接口联调支持",
        "数据看板开发",
        "系统性能优化",
        "报表自动化",
        "测试环境搭建",
        "线上故障复盘",
        "数据迁移",
        "权限体系改造",
        "监控告警完善",
        "数据接口开发",
    ],
}
GENERIC_TOPICS = [
    "月度工作总结",
    "部门预算编制",
    "跨部门协作会议",
    "客户投诉处理",
    "紧急数据报送",
    "供应商评估",
    "培训材料准备",
    "流程制度修订",
    "年度计划拆解",
    "财务报表核对",
]
QUALIFIERS = [
    "",
    "",
    "",
    "Q3",
    "Q4",
    "10月",
    "11月",
    "华东区",
    "华南区",
    "华北区",
    "重点客户",
    "A客户",
    "B客户",
    "双11",
    "年度",
    "新版",
    "线上",
    "第二期",
    "618",
    "春节",
]
SUBTASK_STEPS = [
    "用户画像分析",
    "召回策略制定",
    "活动页面原型设计",
    "文案撰写",
    "数据收集",
    "数据核对",
    "初稿撰写",
    "内部评审",
    "物料设计",
    "供应商比价",
    "预算申请",
    "会场预订",
    "邀请函发送",
    "客户名单整理",
    "效果复盘",
    "接口对接",
    "测试验收",
    "上线发布",
    "问卷设计",
    "访谈纪要整理",
    "报告撰写",
    "区域数据汇总",
    "产品线数据对比",
    "报表模板调整",
    "需求确认",
    "方案评审",
    "排期确认",
    "风险评估",
]
NOTES = [
    "关联Q3用户活跃度目标",
    "需包含区域/产品线数据对比",
    "等待技术部接口支持",
    "客户要求周五前给初稿",
    "数据口径以财务部为准",
    "已与市场部确认排期",
    "预算控制在5万元以内",
    "参考去年同期活动数据",
    "合同条款需法务审核",
    "每周一同步进展",
    "关联重点客户续约",
    "需产品部提供最新功能清单",
    "报表需按区域和产品线拆分",
    "用户数据由运营部提供,注意脱敏",
    "与A客户负责人已电话沟通",
    "涉及跨部门协作,每周3次进度同步会",
    "优先保证华东区数据",
    "需在部门晨会上同步",
]
GOALS = [
    "为提升用户活跃度,需在{due}前完成“{title}”的方案设计与落地执行",
    "为达成季度销售目标,{due}前完成“{title}”",
    "客户反馈集中,需在{due}前完成“{title}”并给出解决方案",
    "配合公司年度规划,{due}前完成“{title}”",
    "为提升客户满意度,{due}前完成“{title}”",
]
OUTCOMES = [
    "输出方案文档并完成落地执行",
    "提交数据报表并在部门会上讲解",
    "形成调研报告与改进建议",
    "完成上线并输出活动总结",
    "交付可执行的计划与排期",
]
VALUES = [
    "达成Q3销售目标",
    "提升客户满意度",
    "提升用户活跃度",
    "降低客户流失率",
    "提高部门协作效率",
    "支撑管理层决策",
]
PROJECTS = [
    "Q3用户活跃度提升",
    "年度大客户计划",
    "新品上市",
    "数字化转型",
    "会员体系升级",
    "华东区市场拓展",
    "双11大促",
    "客户成功计划",
    "渠道伙伴计划",
    "品牌升级",
    "数据中台建设",
    "服务质量提升",
]
CUSTOMER_PREFIXES = [
    "华信",
    "恒达",
    "远航",
    "星辰",
    "金桥",
    "瑞丰",
    "博远",
    "鼎盛",
    "宏图",
    "天成",
    "安泰",
    "中联",
]
CUSTOMER_SUFFIXES = ["科技有限公司", "贸易有限公司", "集团", "实业有限公司", "信息技术有限公司"]
CRITERIA_TEXT = [
    "方案符合用户需求",
    "按时提交并通过部门负责人评审",
    "报表包含区域/产品线数据对比",
    "客户确认方案并签字",
    "活动页面按期上线",
    "会议纪要在会后24小时内发出",
    "问题清单全部关闭",
    "交付物归档到部门知识库",
]
CRITERIA_MEASURABLE = [
    ("数据准确率≥95%", "数据准确率", ">=", Decimal(95), "%"),
    ("召回用户数≥5000人", "召回用户数", ">=", Decimal(5000), "人"),
    ("客户满意度≥90%", "客户满意度", ">=", Decimal(90), "%"),
    ("投诉24小时内回复率=100%", "24小时回复率", "=", Decimal(100), "%"),
    ("页面加载时间≤2秒", "页面加载时间", "<=", Decimal(2), "秒"),
]
BLOCKERS = [
    "等待技术部接口支持",
    "等待客户确认需求",
    "市场部提供的用户数据不完整",
    "预算审批未通过",
    "等待法务审核合同",
]
REWORK_NOTES = ["数据口径与财务不一致,请修改", "缺少区域对比,请补充", "方案未覆盖老用户分层,请完善"]
CANCEL_NOTES = ["客户取消合作", "优先级调整,本季度不做", "与其他任务合并"]

# Status mix for tasks due in the future, and for those already past their due date.
FUTURE_STATUS = [
    ("not_started", 33),
    ("in_progress", 42),
    ("blocked", 6),
    ("submitted", 8),
    ("rework", 3),
    ("done", 7),
    ("cancelled", 1),
]
PAST_STATUS = [
    ("done", 78),
    ("cancelled", 6),
    ("in_progress", 8),
    ("blocked", 3),
    ("submitted", 3),
    ("not_started", 1),
    ("rework", 1),
]
CLOSED = {"done", "cancelled"}


# -- the generator -------------------------------------------------------------------------


# Named presets (issue 16): scale M is a company of 500 people in 20 departments with 200,000
# tasks (~2 million daily updates); `--scale M` or `--preset M`.
PRESETS: dict[str, tuple[int, int, int]] = {"M": (500, 20, 200_000)}


@dataclass
class Scale:
    people: int = BASE_PEOPLE
    departments: int = BASE_DEPARTMENTS
    tasks: int = BASE_TASKS
    preset: str = ""

    @classmethod
    def of(
        cls,
        scale: float = 1.0,
        *,
        people: int | None = None,
        departments: int | None = None,
        tasks: int | None = None,
    ) -> Scale:
        return cls(
            people=people or max(8, round(BASE_PEOPLE * scale)),
            departments=departments or BASE_DEPARTMENTS,
            tasks=tasks if tasks is not None else max(10, round(BASE_TASKS * scale)),
        )

    @classmethod
    def preset_of(cls, name: str) -> Scale:
        """A named preset (`PRESETS`); raises SystemExit for an unknown name."""
        try:
            people, departments, tasks = PRESETS[name.upper()]
        except KeyError:
            raise SystemExit(f"Unknown preset {name!r}; known: {', '.join(PRESETS)}") from None
        return cls(people=people, departments=departments, tasks=tasks, preset=name.upper())

    @property
    def label(self) -> str:
        if self.preset:
            return self.preset
        return f"{self.tasks // 1000}k" if self.tasks >= 1000 and self.tasks % 1000 == 0 else str(self.tasks)


@dataclass
class Context:
    """What the steps share. Rows are kept as (saved) model instances with their ids."""

    scale: Scale
    rng: random.Random
    now: datetime
    today: date
    tz: ZoneInfo
    password_hash: str = ""
    users: list[Any] = field(default_factory=list)
    departments: list[Any] = field(default_factory=list)  # business departments, without the root
    root: Any = None
    # department id -> {"head": user, "deputy": user|None, "managers": [...], "supervisors": [...], "specialists": [...], "all": [...]}
    staff: dict[int, dict[str, Any]] = field(default_factory=dict)
    projects: list[Any] = field(default_factory=list)
    customers: list[Any] = field(default_factory=list)
    tasks: list[Any] = field(default_factory=list)
    children: dict[int, list[Any]] = field(default_factory=dict)  # task id -> its subtasks
    collaborators: dict[int, list[int]] = field(default_factory=dict)  # task id -> user ids
    rows: dict[str, int] = field(default_factory=dict)
    _next_id: dict[str, int] = field(default_factory=dict)

    def next_ids(self, model, n: int) -> range:
        """Ids for `n` new rows of `model` (the database is fresh; sequences reset at the end)."""
        key = model._meta.label
        if key not in self._next_id:
            from django.db.models import Max

            self._next_id[key] = (model.objects.aggregate(m=Max("pk"))["m"] or 0) + 1
        start = self._next_id[key]
        self._next_id[key] = start + n
        return range(start, start + n)

    def moment(self, d: date, *, hour_from: int = 9, hour_to: int = 19) -> datetime:
        """A working-hours moment on day `d`, never in the future."""
        minutes = self.rng.randint(hour_from * 60, hour_to * 60 - 1)
        at = datetime(
            d.year, d.month, d.day, minutes // 60, minutes % 60, self.rng.randint(0, 59), tzinfo=self.tz
        )
        return min(at, self.now - timedelta(seconds=self.rng.randint(60, 3600)))

    def between(self, a: datetime, b: datetime) -> datetime:
        if b <= a:
            return a
        return a + timedelta(seconds=self.rng.uniform(0, (b - a).total_seconds()))


Step = Callable[[Context], None]
STEPS: list[tuple[str, Step]] = []


def step(name: str) -> Callable[[Step], Step]:
    """Register a generation step; steps run in the order they are registered."""

    def register(fn: Step) -> Step:
        STEPS.append((name, fn))
        return fn

    return register


def save(
    ctx: Context, model, objs: list, *, batch_size: int = 5000, columns: tuple[str, ...] | None = None
) -> None:
    """Bulk-insert rows of `model`, given as model instances, as dicts of attnames or (fastest,
    for the big tables) as tuples of the attnames named in `columns`; a missing key or column
    takes the field's default, a missing id the next free one (in the row order).

    This is `bulk_create` without its per-value preparation, which takes 90% of its time
    (20,000 tasks with their 130,000 satellite rows took over half a minute): each column
    gets the database's own adapter once (dates and datetimes on SQLite, JSON, decimals),
    every other value passes as is, then COPY (PostgreSQL) or one `executemany` per batch
    (SQLite). Ids, timestamps (also auto_now ones) and everything else are stored exactly
    as given, so the dataset can have a history. Raises ValueError for a column `model`
    does not have.
    """
    from django.db import connection

    if not objs:
        return
    fields = list(model._meta.concrete_fields)
    by_name = {f.attname: f for f in fields}
    pk_name = model._meta.pk.attname
    stamps = {f.attname for f in fields if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)}

    def default(f) -> Any:
        return ctx.now if f.attname in stamps else f.get_default()

    if columns is not None:
        unknown = [c for c in columns if c not in by_name]
        if unknown:
            raise ValueError(f"{model._meta.label} has no column {unknown}")
        names = list(columns)
        if pk_name not in names:
            names.insert(0, pk_name)
            objs = [(pk, *row) for pk, row in zip(ctx.next_ids(model, len(objs)), objs, strict=True)]
        # Columns not given take one value for every row.
        constant = tuple(_adapt(f, connection, default(f)) for f in fields if f.attname not in names)
        # The given columns are converted row by row, the constant ones were above.
        convert = [(i, _adapter(by_name[n], connection)) for i, n in enumerate(names)]
        convert = [(i, conv) for i, conv in convert if conv is not None]
        names += [f.attname for f in fields if f.attname not in names]

        def rows_of(chunk: list) -> list:
            if not convert:
                return [(*row, *constant) for row in chunk] if constant else chunk
            out = []
            for row in chunk:
                row = [*row, *constant]
                for i, conv in convert:
                    if row[i] is not None:
                        row[i] = conv(row[i])
                out.append(row)
            return out

        order = [by_name[n] for n in names]
    else:
        as_dicts = isinstance(objs[0], dict)
        get = dict.get if as_dicts else getattr
        missing = [o for o in objs if get(o, pk_name, None) is None]
        for o, pk in zip(missing, ctx.next_ids(model, len(missing)), strict=True):
            if as_dicts:
                o[pk_name] = pk
            else:
                setattr(o, pk_name, pk)
        # (attname, default for a dict without it, adapter or None)
        spec = [(f.attname, default(f), _adapter(f, connection)) for f in fields]

        def rows_of(chunk: list) -> list:
            rows = []
            for o in chunk:
                row = []
                for name, dflt, conv in spec:
                    value = get(o, name, dflt)
                    if value is None and name in stamps:
                        value = ctx.now  # a step that did not date a row dates it now
                    row.append(conv(value) if conv is not None and value is not None else value)
                rows.append(row)
            return rows

        order = fields
    qn = connection.ops.quote_name
    table, column_list = qn(model._meta.db_table), ", ".join(qn(f.column) for f in order)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # COPY: executemany there is one round trip a row.
            with cursor.cursor.copy(f"COPY {table} ({column_list}) FROM STDIN") as pipe:
                for start in range(0, len(objs), batch_size):
                    for row in rows_of(objs[start : start + batch_size]):
                        pipe.write_row(row)
        else:
            sql = f"INSERT INTO {table} ({column_list}) VALUES ({', '.join(['%s'] * len(order))})"
            for start in range(0, len(objs), batch_size):
                cursor.executemany(sql, rows_of(objs[start : start + batch_size]))
    ctx.rows[model._meta.label] = ctx.rows.get(model._meta.label, 0) + len(objs)


def _adapter(f, connection) -> Callable[[Any], Any] | None:
    """The conversion a non-null value of field `f` needs before the driver takes it, or None
    when it passes as is (PostgreSQL's driver takes dates and datetimes itself; JSON without
    an encoder is `json.dumps`, what Django's adapters produce on both databases)."""
    kind = f.get_internal_type()
    ops = connection.ops
    postgres = connection.vendor == "postgresql"
    if kind == "DateTimeField":
        return None if postgres else ops.adapt_datetimefield_value
    if kind == "DateField":
        return None if postgres else ops.adapt_datefield_value
    if kind == "TimeField":
        return None if postgres else ops.adapt_timefield_value
    if kind == "JSONField" and f.encoder is None:
        return json.dumps
    if kind in ("JSONField", "DecimalField"):
        return lambda value: f.get_db_prep_save(value, connection)
    return None


def _adapt(f, connection, value: Any) -> Any:
    conv = _adapter(f, connection)
    return conv(value) if conv is not None and value is not None else value


def pick(rng: random.Random, weighted: list[tuple[str, int]]) -> str:
    return rng.choices([v for v, _ in weighted], weights=[w for _, w in weighted])[0]


def person_name(rng: random.Random, taken: set[str]) -> str:
    while True:
        name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2, 2))))
        if name not in taken:
            taken.add(name)
            return name


@step("people and departments")
def people_and_departments(ctx: Context) -> None:
    from closeloop.orgs.models import Department, Membership, User

    rng = ctx.rng
    n_depts = ctx.scale.departments
    specs = [
        DEPARTMENTS[i]
        if i < len(DEPARTMENTS)
        else (
            f"{DEPARTMENTS[i % len(DEPARTMENTS)][0]}{i // len(DEPARTMENTS) + 1}",
            f"{DEPARTMENTS[i % len(DEPARTMENTS)][1]}{i // len(DEPARTMENTS) + 1}",
        )
        for i in range(n_depts)
    ]
    joined = ctx.now - timedelta(days=400)
    names: set[str] = set()

    user_ids = iter(ctx.next_ids(User, ctx.scale.people))

    def person(username: str) -> Any:
        name = person_name(rng, names)
        uid = next(user_ids)
        return User(
            id=uid,
            username=username,
            name=name,
            email=f"{username}@bench.example.com",
            mobile=f"13{rng.randint(100000000, 999999999)}",
            wecom_id=username,
            password=ctx.password_hash,
            is_active=True,
            date_joined=joined,
            language="zh-hans",
            time_zone="Asia/Shanghai",
        )

    ceo = person("ceo")
    users = [ceo]
    per_dept = [
        (ctx.scale.people - 1) // n_depts + (1 if i < (ctx.scale.people - 1) % n_depts else 0)
        for i in range(n_depts)
    ]
    staff_plan: list[tuple[str, str, list[tuple[Any, str]]]] = []
    for (code, name), size in zip(specs, per_dept, strict=True):
        prefix = code.lower()
        members: list[tuple[Any, str]] = []
        for i in range(size):
            if i == 0:
                username, role = f"{prefix}_head", "manager"
            elif i == 1:
                username, role = f"{prefix}_manager", "manager"
            elif i in (2, 3):
                username, role = f"{prefix}_supervisor{i - 1}", "supervisor"
            elif i == 4:
                username, role = f"{prefix}_specialist", "specialist"
            else:
                username, role = f"{prefix}_specialist{i - 3}", "specialist"
            u = person(username)
            members.append((u, role))
            users.append(u)
        staff_plan.append((code, name, members))
    save(ctx, User, users)
    ctx.users = users

    dept_ids = iter(ctx.next_ids(Department, n_depts + 1))
    root = Department(id=next(dept_ids), code="HQ", name="总公司", head=ceo, next_task_number=1)
    depts = []
    for code, name, members in staff_plan:
        head = members[0][0] if members else None
        # Some departments name a deputy (代理负责人): the manager.
        deputy = members[1][0] if len(members) > 1 and rng.random() < 0.6 else None
        depts.append(
            Department(id=next(dept_ids), code=code, name=name, parent_id=root.id, head=head, deputy=deputy)
        )
    save(ctx, Department, [root, *depts])
    ctx.root, ctx.departments = root, depts

    memberships = [Membership(user=ceo, department=root, role="manager", joined_at=joined)]
    for dept, (_code, _name, members) in zip(depts, staff_plan, strict=True):
        s: dict[str, Any] = {
            "head": dept.head,
            "deputy": dept.deputy,
            "managers": [],
            "supervisors": [],
            "specialists": [],
            "all": [],
        }
        for u, role in members:
            memberships.append(Membership(user=u, department=dept, role=role, joined_at=joined))
            s["all"].append(u)
            s[{"manager": "managers", "supervisor": "supervisors", "specialist": "specialists"}[role]].append(
                u
            )
        ctx.staff[dept.id] = s
    # A few people also belong to a second department (a cross-functional specialist).
    if len(depts) > 1:
        for u in rng.sample(users[1:], k=min(len(users) - 1, max(1, len(users) // 12))):
            home = next(d for d in depts if u in ctx.staff[d.id]["all"])
            other = rng.choice([d for d in depts if d.id != home.id])
            memberships.append(Membership(user=u, department=other, role="specialist", joined_at=joined))
    save(ctx, Membership, memberships)


@step("projects and customers")
def projects_and_customers(ctx: Context) -> None:
    from closeloop.tasks.models import Customer, Project

    ctx.projects = [
        Project(id=i, name=name)
        for i, name in zip(ctx.next_ids(Project, len(PROJECTS)), PROJECTS, strict=True)
    ]
    names = [p + s for p in CUSTOMER_PREFIXES for s in CUSTOMER_SUFFIXES][
        : max(20, min(60, ctx.scale.tasks // 300))
    ]
    ctx.customers = [
        Customer(id=i, name=name) for i, name in zip(ctx.next_ids(Customer, len(names)), names, strict=True)
    ]
    save(ctx, Project, ctx.projects)
    save(ctx, Customer, ctx.customers)


def _make_path(parent_path: str | None, pk: int) -> str:
    from closeloop.tasks.models import Task

    maker = getattr(Task, "make_path", None)
    if maker is not None:
        return maker(parent_path, pk)
    return f"{parent_path or '/'}{pk}/"


class TaskRow(SimpleNamespace):
    """A generated task: the attributes of `Task` the steps set and read (building 200,000
    model instances took a third of the step); `save` stores it like an instance, the
    fields it lacks taking their defaults."""


@step("tasks and subtasks")
def tasks_and_subtasks(ctx: Context) -> None:
    from closeloop.tasks.models import Task

    rng, today = ctx.rng, ctx.today
    total = ctx.scale.tasks
    depts = ctx.departments
    ids = iter(ctx.next_ids(Task, total))
    counters = {d.id: 0 for d in depts}
    everyone = ctx.users[1:]
    tasks: list[Any] = []

    def status_for(due: date) -> str:
        return pick(rng, PAST_STATUS if due < today else FUTURE_STATUS)

    def stamp(t: Any) -> None:
        """Timestamps and progress consistent with the status."""
        created = t.created_at
        if t.status in ("not_started",):
            t.progress = 0
            return
        if t.status == "cancelled":
            t.cancelled_at = ctx.between(created, min(ctx.now, ctx.moment(t.due_date)))
            t.progress = rng.choice((0, 0, 10, 20, 40))
            if rng.random() < 0.5:
                t.started_at = ctx.between(created, t.cancelled_at)
            return
        start_day = t.start_date or created.date()
        t.started_at = max(created, ctx.moment(start_day))
        if t.status in ("in_progress", "blocked"):
            t.progress = rng.randrange(5, 95, 5)
        elif t.status == "rework":
            t.progress = rng.randrange(60, 100, 5)
            t.submitted_at = ctx.between(t.started_at, ctx.now)
        elif t.status == "submitted":
            t.progress = 100
            t.submitted_at = ctx.between(t.started_at, ctx.now)
        elif t.status == "done":
            t.progress = 100
            end = min(
                ctx.now,
                ctx.moment(t.due_date + timedelta(days=rng.choice((-3, -2, -1, -1, 0, 0, 0, 1, 2, 5)))),
            )
            t.completed_at = max(t.started_at, end)
            t.submitted_at = ctx.between(t.started_at, t.completed_at)

    def new_task(dept: Any, *, parent: Any | None, title: str, owner: Any, initiator: Any, due: date) -> Any:
        pk = next(ids)
        if parent is None:
            counters[dept.id] += 1
            code = f"T{counters[dept.id]:03d}"
            depth = 0
        else:
            code = f"{parent.code}-{parent.next_child_number}"
            parent.next_child_number += 1
            depth = parent.depth + 1
        start = due - timedelta(days=rng.randint(2, 60))
        if parent is not None and parent.start_date and start < parent.start_date:
            start = min(parent.start_date, due)
        created_day = min(start - timedelta(days=rng.randint(0, 7)), today)
        if parent is not None:
            created_day = max(created_day, parent.created_at.date())
        created = ctx.moment(created_day)
        if parent is not None and created < parent.created_at:
            created = ctx.between(parent.created_at, ctx.now)
        adhoc = parent is None and rng.random() < 0.12
        priority = rng.choices((1, 2, 3), weights=(25, 50, 25))[0]
        notes = rng.choice(NOTES) if rng.random() < 0.7 else ""
        if notes and rng.random() < 0.3:
            notes += ";" + rng.choice(NOTES)
        t = TaskRow(
            id=pk,
            department_id=dept.id,
            initiator_id=initiator.id,
            code=code,
            parent_id=parent.id if parent is not None else None,
            path=_make_path(parent.path if parent is not None else None, pk),
            depth=depth,
            next_child_number=1,
            title=title[:200],
            goal=rng.choice(GOALS).format(due=f"{due.month}月{due.day}日", title=title)
            if parent is None or rng.random() < 0.3
            else "",
            expected_outcome=rng.choice(OUTCOMES) if parent is None else "",
            value=rng.choice(VALUES) if parent is None else "",
            task_type=("collaborative" if rng.random() < 0.4 else "routine")
            if adhoc
            else rng.choices(("project", "routine", "collaborative"), weights=(40, 40, 20))[0],
            priority=1 if adhoc and rng.random() < 0.5 else priority,
            owner_id=owner.id,
            reviewer_id=None,
            start_date=start,
            due_date=due,
            original_due_date=due,
            project_id=rng.choice(ctx.projects).id
            if parent is None and rng.random() < 0.5
            else (parent.project_id if parent is not None else None),
            customer_id=rng.choice(ctx.customers).id
            if parent is None and rng.random() < 0.3
            else (parent.customer_id if parent is not None else None),
            notes=notes,
            source="adhoc" if adhoc else "planned",
            adhoc_category=rng.choice(("complaint", "urgent_data", "meeting", "other")) if adhoc else "",
            respond_by=created + timedelta(hours=24 if priority == 1 else 72) if adhoc else None,
            status="not_started",
            progress=0,
            version=1,
            created_at=created,
            updated_at=created,
            started_at=None,
            submitted_at=None,
            completed_at=None,
            cancelled_at=None,
            search_text="",
        )
        tasks.append(t)
        return t

    def top_owner(s: dict[str, Any]) -> Any:
        pool = rng.choices(("lead", "mid", "spec"), weights=(10, 60, 30))[0]
        if pool == "lead" or not (s["managers"] or s["supervisors"] or s["specialists"]):
            return s["head"]
        if pool == "mid" and (s["managers"] or s["supervisors"]):
            return rng.choice(s["managers"] + s["supervisors"])
        return rng.choice(s["specialists"] or s["all"])

    def sub_owner(dept: Any) -> Any:
        # Now and then a subtask is owned by someone from another department (e.g. TECH builds
        # the page for a MKT campaign): they see it, and the tasks above it, but nothing else.
        if rng.random() < 0.05 and len(depts) > 1:
            return rng.choice(everyone)
        s = ctx.staff[dept.id]
        return (
            rng.choice(s["specialists"] * 3 + s["supervisors"] + s["managers"])
            if len(s["all"]) > 1
            else s["head"]
        )

    def decompose(dept: Any, parent: Any, budget: int) -> None:
        """Give `parent` a few subtasks (and some of those their own), within `budget` rows."""
        n = min(budget, rng.choice((1, 2, 2, 3, 3, 4, 5)))
        steps = rng.sample(SUBTASK_STEPS, k=n)
        made = []
        for i in range(n):
            due = max(parent.start_date or today, parent.due_date - timedelta(days=rng.randint(0, 14)))
            title = steps[i] if rng.random() < 0.6 else f"{parent.title}:{steps[i]}"
            owner = sub_owner(dept)
            made.append(
                new_task(
                    dept, parent=parent, title=title, owner=owner, initiator=parent_owner[parent.id], due=due
                )
            )
        ctx.children[parent.id] = made
        for child in made:
            parent_owner[child.id] = users_by_id[child.owner_id]
        budget -= n
        for child in made:
            if budget > 0 and parent.depth == 0 and rng.random() < 0.15:
                before = len(tasks)
                decompose(dept, child, min(budget, 3))
                budget -= len(tasks) - before

    users_by_id = {u.id: u for u in ctx.users}
    parent_owner: dict[int, Any] = {}
    while len(tasks) < total:
        dept = depts[len(tasks) % len(depts)] if rng.random() < 0.7 else rng.choice(depts)
        s = ctx.staff[dept.id]
        topics = TOPICS.get(dept.code, GENERIC_TOPICS) + GENERIC_TOPICS[:3]
        title = rng.choice(QUALIFIERS) + rng.choice(topics)
        owner = top_owner(s)
        initiator = rng.choice([s["head"], s["head"], owner, *(s["managers"] or [owner])])
        due = today + timedelta(days=round(rng.triangular(-150, 90, 10)))
        root = new_task(dept, parent=None, title=title, owner=owner, initiator=initiator, due=due)
        parent_owner[root.id] = owner
        if rng.random() < 0.15:
            # A named reviewer other than the owner (otherwise the head or deputy accepts).
            candidates = [u for u in s["supervisors"] + s["managers"] if u.id != owner.id]
            if candidates:
                root.reviewer_id = rng.choice(candidates).id
        remaining = total - len(tasks)
        if remaining > 0 and rng.random() < 0.45:
            decompose(dept, root, remaining)

    # Statuses: parents first (tasks are in creation order, parents before children).
    by_id = {t.id: t for t in tasks}
    for t in tasks:
        parent = by_id.get(t.parent_id) if t.parent_id else None
        if parent is None:
            t.status = status_for(t.due_date)
        elif parent.status in CLOSED:
            t.status = parent.status if parent.status == "cancelled" or rng.random() < 0.95 else "cancelled"
        elif parent.status == "not_started":
            t.status = "not_started"
        elif parent.status == "submitted":
            t.status = "done"
        else:
            t.status = status_for(t.due_date)
            if t.status == "submitted" and rng.random() < 0.5:
                t.status = "in_progress"
        stamp(t)
    # Roll-up: a task with subtasks takes its progress from them (deepest first).
    for t in sorted(tasks, key=lambda x: -x.depth):
        kids = ctx.children.get(t.id)
        if kids and t.status not in CLOSED and t.status != "submitted":
            t.progress = round(sum(k.progress for k in kids) / len(kids))
    for t in tasks:
        t.updated_at = max(
            x for x in (t.created_at, t.started_at, t.submitted_at, t.completed_at, t.cancelled_at) if x
        )

    _index_for_search(ctx, tasks)
    save(ctx, Task, tasks)
    ctx.tasks = tasks
    from closeloop.orgs.models import Department

    for d in depts:
        Department.objects.filter(pk=d.pk).update(next_task_number=counters[d.id] + 1)


def _index_for_search(ctx: Context, tasks: list[Any]) -> None:
    """Fill `search_text` as the services do (the FTS5 triggers / GIN index take it from there)."""
    try:
        from closeloop.tasks.search import task_index_text
    except ImportError:  # no search index in this revision
        return
    dept_code = {d.id: d.code for d in ctx.departments}
    project = {p.id: p.name for p in ctx.projects}
    customer = {c.id: c.name for c in ctx.customers}
    for t in tasks:
        t.search_text = task_index_text(
            department_code=dept_code[t.department_id],
            code=t.code,
            title=t.title,
            customer=customer.get(t.customer_id, ""),
            project=project.get(t.project_id, ""),
        )


@step("collaborators")
def collaborators(ctx: Context) -> None:
    from closeloop.tasks.models import TaskCollaborator

    rng = ctx.rng
    rows = []
    for t in ctx.tasks:
        if t.task_type == "collaborative":
            n = rng.choice((1, 1, 2, 2, 3))
        elif rng.random() < 0.25:
            n = 1
        else:
            continue
        s = ctx.staff[t.department_id]
        chosen: set[int] = set()
        for _ in range(n):
            # Collaborative work pulls in other departments; the rest is helped from inside.
            pool = ctx.users[1:] if t.task_type == "collaborative" and rng.random() < 0.6 else s["all"]
            u = rng.choice(pool)
            if u.id != t.owner_id and u.id not in chosen:
                chosen.add(u.id)
        if chosen:
            ctx.collaborators[t.id] = sorted(chosen)
            for uid in sorted(chosen):
                rows.append(
                    dict(
                        task_id=t.id,
                        user_id=uid,
                        added_by_id=t.initiator_id,
                        added_at=t.created_at,
                        # What the task services keep on a link (statuses are final by now).
                        task_department_id=t.department_id,
                        task_open=t.status not in ("done", "cancelled"),
                    )
                )
    save(ctx, TaskCollaborator, rows)


@step("acceptance criteria")
def acceptance_criteria(ctx: Context) -> None:
    from closeloop.tasks.models import AcceptanceCriterion

    rng = ctx.rng
    rows = []
    for t in ctx.tasks:
        n = rng.choice((1, 1, 2, 2, 3)) if t.parent_id is None else rng.choice((0, 0, 1))
        for pos in range(1, n + 1):
            if rng.random() < 0.35:
                text, metric, comparator, threshold, unit = rng.choice(CRITERIA_MEASURABLE)
                rows.append(
                    dict(
                        task_id=t.id,
                        position=pos,
                        text=text,
                        metric=metric,
                        comparator=comparator,
                        threshold=threshold,
                        unit=unit,
                    )
                )
            else:
                rows.append(dict(task_id=t.id, position=pos, text=rng.choice(CRITERIA_TEXT)))
        if n == 0 and t.submitted_at:
            # Only a task with criteria is submitted for acceptance (review.services.
            # refuse_obstacles); the same random draws as before, so the rest stays the same.
            rows.append(dict(task_id=t.id, position=1, text=CRITERIA_TEXT[0]))
    save(ctx, AcceptanceCriterion, rows)


@step("task events")
def task_events(ctx: Context) -> None:
    """The event log each task would have if the services had written it."""
    from closeloop.tasks.models import TaskEvent

    rng = ctx.rng
    events: list[Any] = []
    dept_by_id = {d.id: d for d in ctx.departments}

    def ev(
        t: Any,
        actor_id: int | None,
        verb: str,
        at: datetime,
        before: dict | None = None,
        after: dict | None = None,
        note: str = "",
        dedupe_key: str | None = None,
    ) -> None:
        events.append((t.id, actor_id, verb, before or {}, after or {}, note, at, dedupe_key))

    def status(t: Any, actor_id: int, frm: str, to: str, at: datetime, note: str = "") -> None:
        ev(t, actor_id, "status_changed", at, {"status": frm}, {"status": to}, note)

    for t in ctx.tasks:
        dept = dept_by_id[t.department_id]
        reviewer_id = t.reviewer_id or dept.head_id
        ev(
            t,
            t.initiator_id,
            "created",
            t.created_at,
            after={
                "code": t.code,
                "title": t.title,
                "owner": t.owner_id,
                "due_date": t.original_due_date.isoformat(),
                "priority": t.priority,
                "criteria": 0,
                "collaborators": ctx.collaborators.get(t.id, []),
            },
        )
        if t.started_at:
            status(t, t.owner_id, "not_started", "in_progress", t.started_at)
            # A few edits while the work goes on (progress, notes).
            last = t.started_at
            end = t.submitted_at or t.completed_at or t.cancelled_at or ctx.now
            prev = 0
            for _ in range(rng.choice((0, 1, 1, 2, 3))):
                last = ctx.between(last, end)
                p = min(100, prev + rng.randrange(10, 40, 5))
                ev(t, t.owner_id, "updated", last, {"progress": prev}, {"progress": p})
                prev = p
        if t.status == "blocked":
            status(
                t,
                t.owner_id,
                "in_progress",
                "blocked",
                ctx.between(t.started_at, ctx.now),
                rng.choice(BLOCKERS),
            )
        if t.submitted_at:
            status(t, t.owner_id, "in_progress", "submitted", t.submitted_at)
        if t.status == "rework":
            status(
                t,
                reviewer_id,
                "submitted",
                "rework",
                ctx.between(t.submitted_at, ctx.now),
                rng.choice(REWORK_NOTES),
            )
        if t.status == "done":
            status(t, reviewer_id, "submitted", "done", t.completed_at)
        if t.status == "cancelled":
            frm = "in_progress" if t.started_at else "not_started"
            status(t, t.initiator_id, frm, "cancelled", t.cancelled_at, rng.choice(CANCEL_NOTES))
        if t.status not in CLOSED and t.due_date < ctx.today:
            at = min(
                ctx.now,
                datetime(t.due_date.year, t.due_date.month, t.due_date.day, tzinfo=ctx.tz)
                + timedelta(days=1, minutes=1),
            )
            ev(
                t,
                None,
                "became_overdue",
                at,
                after={"due_date": t.due_date.isoformat()},
                dedupe_key=f"overdue:{t.id}:{t.due_date.isoformat()}",
            )
    events.sort(key=itemgetter(6))
    save(
        ctx,
        TaskEvent,
        events,
        columns=("task_id", "actor_id", "verb", "before", "after", "note", "created_at", "dedupe_key"),
    )


@step("notifications")
def notifications(ctx: Context) -> None:
    """What the services would have queued for people: assignments, submissions, overdue."""
    from closeloop.notify.models import Notification

    rng = ctx.rng
    dept_by_id = {d.id: d for d in ctx.departments}
    names = {u.id: u.display_name for u in ctx.users}
    rows = []
    for t in ctx.tasks:
        dept = dept_by_id[t.department_id]
        data = {"task": t.id, "code": f"{dept.code}-{t.code}", "title": t.title, "by": names[t.initiator_id]}
        link = f"/tasks/{t.id}/"
        old = (ctx.now - t.created_at).days > 3
        if t.owner_id != t.initiator_id:
            rows.append(
                dict(
                    recipient_id=t.owner_id,
                    kind="task.assigned",
                    data=data,
                    link=link,
                    actor_id=t.initiator_id,
                    created_at=t.created_at,
                    read_at=t.created_at + timedelta(hours=2) if old or rng.random() < 0.5 else None,
                )
            )
        if t.status == "submitted":
            reviewer = t.reviewer_id or dept.head_id
            if reviewer:
                rows.append(
                    dict(
                        recipient_id=reviewer,
                        kind="task.submitted",
                        data={**data, "by": names[t.owner_id]},
                        link=link,
                        actor_id=t.owner_id,
                        created_at=t.submitted_at,
                        read_at=None if rng.random() < 0.6 else t.submitted_at + timedelta(hours=1),
                    )
                )
    rows.sort(key=lambda n: n["created_at"])
    save(ctx, Notification, rows)


# -- steps of later features, kept in their own modules -------------------------------------

from bench.tracking_step import tracking_data  # noqa: E402

step("tracking: updates, warnings, forecasts")(tracking_data)

from bench.plan_step import plan_data  # noqa: E402

step("plan: search index, dependencies, milestones")(plan_data)

from bench.review_step import review_data  # noqa: E402

step("review: submissions, retrospectives")(review_data)

from bench.collab_step import collab_data  # noqa: E402

step("collab: issues, escalations")(collab_data)


@step("completion tally")
def completion_tally(ctx: Context) -> None:
    """The per-day completion tally the services keep (`tasks.completions`), from the done
    tasks generated above, as `completions.rebuild` counts it."""
    from closeloop.tasks.completions import tally_tasks
    from closeloop.tasks.models import CompletionDay

    zones = {d.pk: d.tzinfo for d in [*ctx.departments, ctx.root] if d is not None}
    tally = tally_tasks(
        (
            (t.department_id, t.owner_id, t.completed_at, t.due_date, t.original_due_date)
            for t in ctx.tasks
            if t.status == "done" and t.completed_at is not None
        ),
        zones,
    )
    rows = [
        {
            "department_id": d,
            "day": day,
            "owner_id": o,
            "done": n,
            "on_time": on_time,
            "on_time_original": original,
        }
        for (d, day, o), (n, on_time, original) in tally.items()
    ]
    save(ctx, CompletionDay, rows)


# -- running -------------------------------------------------------------------------------


def reset_sequences() -> None:
    """Rows were inserted with explicit ids; move PostgreSQL's sequences past them."""
    from django.apps import apps
    from django.core.management.color import no_style
    from django.db import connection

    if connection.vendor != "postgresql":
        return  # SQLite's AUTOINCREMENT follows the largest id by itself
    models = [
        m
        for m in apps.get_models()
        # Every app of the project (tracking, review, collab … have labels without the
        # package prefix), and the auto-created many-to-many tables of its models.
        if m.__module__.startswith("closeloop.")
    ]
    statements = connection.ops.sequence_reset_sql(no_style(), models)
    with connection.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql)


# -- bulk load: the schema's secondary structures are set aside while the rows go in -----------


def _schema(cursor, vendor: str) -> list[tuple]:
    """What `bulk_load` compares before and after: PostgreSQL's indexes and constraints by
    name and definition, SQLite's `sqlite_master` entries (type, name, table, SQL)."""
    if vendor == "postgresql":
        cursor.execute(
            "SELECT 'index', indexname, tablename, indexdef FROM pg_indexes WHERE schemaname = current_schema()"
            " UNION ALL SELECT 'constraint', c.conname, c.conrelid::regclass::text, pg_get_constraintdef(c.oid)"
            " FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace"
            " WHERE n.nspname = current_schema()"
        )
    else:
        cursor.execute("SELECT type, name, tbl_name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'")
    return sorted(cursor.fetchall())


def _set_aside(cursor, vendor: str) -> list[str]:
    """Drop the foreign keys (PostgreSQL) and the non-unique secondary indexes; returns the
    statements that put them back, each definition as the catalog holds it (so names and
    definitions stay the migrations' own). Primary keys and unique indexes stay: they are
    cheap to keep in id order and `ignore_conflicts` inserts rely on them."""
    restore: list[str] = []
    if vendor == "postgresql":
        cursor.execute(
            "SELECT c.conrelid::regclass::text, quote_ident(c.conname), pg_get_constraintdef(c.oid)"
            " FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace"
            " WHERE c.contype = 'f' AND n.nspname = current_schema() ORDER BY 1, 2"
        )
        fks = cursor.fetchall()
        cursor.execute(
            "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid)"
            " FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid"
            " JOIN pg_namespace n ON n.oid = t.relnamespace"
            " WHERE n.nspname = current_schema() AND NOT i.indisunique AND NOT i.indisprimary"
            " AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid) ORDER BY 1"
        )
        indexes = cursor.fetchall()
        for table, name, _definition in fks:
            cursor.execute(f"ALTER TABLE {table} DROP CONSTRAINT {name}")
        for name, _definition in indexes:
            cursor.execute(f"DROP INDEX {name}")
        restore += [definition for _name, definition in indexes]
        restore += [
            f"ALTER TABLE {table} ADD CONSTRAINT {name} {definition}" for table, name, definition in fks
        ]
    else:
        cursor.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
            " AND upper(sql) NOT LIKE 'CREATE UNIQUE%' ORDER BY name"
        )
        indexes = cursor.fetchall()
        for name, _sql in indexes:
            cursor.execute(f'DROP INDEX "{name}"')
        restore += [sql for _name, sql in indexes]
    return restore


@contextlib.contextmanager
def bulk_load(out=sys.stdout):
    """The load session: run the steps inside it, in one transaction.

    PostgreSQL: foreign keys and non-unique indexes are dropped and, after the rows, built
    again from the catalog's own definitions (one index build and one anti-join per key
    instead of a B-tree/GIN insertion per row and a deferred trigger per row at COMMIT);
    `synchronous_commit` off and a larger `maintenance_work_mem` for this transaction only.
    SQLite: foreign keys off for the load and checked once after it (`PRAGMA
    foreign_key_check`), no rollback journal and no fsync while generating, the non-unique
    indexes built after the rows; the file's WAL mode and the connection's PRAGMAs are put
    back at the end. Either way the schema after equals the migrated one (compared here;
    raises RuntimeError if not) and a foreign key violation raises IntegrityError."""
    from django.db import connection, transaction

    vendor = connection.vendor
    sqlite = vendor == "sqlite"
    if sqlite:
        connection.ensure_connection()
        with connection.cursor() as cursor:
            for pragma in (
                "foreign_keys = OFF",
                "journal_mode = OFF",
                "synchronous = OFF",
                "cache_size = -400000",
            ):
                cursor.execute(f"PRAGMA {pragma}")
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            before = _schema(cursor, vendor)
            if not sqlite:
                cursor.execute("SET LOCAL synchronous_commit = off")
                cursor.execute("SET LOCAL maintenance_work_mem = '512MB'")
            restore = _set_aside(cursor, vendor)
            yield
            t0, c0 = time.perf_counter(), time.process_time()
            for statement in restore:
                cursor.execute(statement)
            if sqlite:
                connection.check_constraints()
            after = _schema(cursor, vendor)
            if after != before:
                raise RuntimeError(f"schema changed by the load: {sorted(set(before) ^ set(after))[:5]}")
            print(
                f"  {'indexes and keys rebuilt':<28} {time.perf_counter() - t0:6.2f} s "
                f"(cpu {time.process_time() - c0:.2f} s){_server_cpu()}",
                file=out,
                flush=True,
            )
    finally:
        if sqlite:
            with connection.cursor() as cursor:
                for pragma in (
                    "journal_mode = WAL",
                    "synchronous = NORMAL",
                    "foreign_keys = ON",
                    "cache_size = -32000",
                ):
                    cursor.execute(f"PRAGMA {pragma}")


_server_cpu_last: list[float] = []


def _server_cpu() -> str:
    """`, server cpu N s`: CPU seconds the PostgreSQL backend of this connection spent since the
    previous call (read from /proc: only when the server runs on this machine; parallel
    index-build workers are not counted). Empty on SQLite or when it cannot be read."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return ""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            pid = cursor.fetchone()[0]
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        seconds = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return ""
    spent = seconds - (_server_cpu_last[-1] if _server_cpu_last else seconds)
    _server_cpu_last.append(seconds)
    return f", server cpu {spent:.2f} s"


def generate(
    scale: Scale, *, seed: int = 20231015, out=sys.stdout, now: datetime | None = None
) -> dict[str, Any]:
    """Fill the (fresh, migrated) database. Returns timings and row counts. `now` (aware) pins
    the moment the dataset is made at (default: the clock), so the same seed and `now` give
    the same rows."""
    from django.contrib.auth.hashers import make_password
    from django.db import connection
    from django.utils import timezone

    tz = ZoneInfo("Asia/Shanghai")
    now = now or timezone.now()
    ctx = Context(scale=scale, rng=random.Random(seed), now=now, today=now.astimezone(tz).date(), tz=tz)
    # One hash for everyone: hashing 50 passwords with PBKDF2 alone would take half a minute.
    ctx.password_hash = make_password(BENCH_PASSWORD)
    timings: dict[str, float] = {}
    # CPU seconds of this process per step: on a busy machine (other helpers' tests) the wall
    # time says more about the neighbours than about the generator.
    cpu: dict[str, float] = {}
    t_all, c_all = time.perf_counter(), time.process_time()
    _server_cpu()
    with bulk_load(out):
        for name, fn in STEPS:
            t0, c0 = time.perf_counter(), time.process_time()
            fn(ctx)
            timings[name] = round(time.perf_counter() - t0, 2)
            cpu[name] = round(time.process_time() - c0, 2)
            print(
                f"  {name:<28} {timings[name]:6.2f} s (cpu {cpu[name]:.2f} s){_server_cpu()}",
                file=out,
                flush=True,
            )
        t0, c0 = time.perf_counter(), time.process_time()
        reset_sequences()
    with connection.cursor() as cursor:
        # PostgreSQL: VACUUM too, as autovacuum would have by the time anyone reads a database
        # of this age (this machine's server runs with autovacuum off): without it no scan is
        # index-only, and a count visits every table page (a head's task list: 4,430 blocks).
        cursor.execute("VACUUM (ANALYZE)" if connection.vendor == "postgresql" else "ANALYZE")
    print(
        f"  {'rebuilt, committed, analysed':<28} {time.perf_counter() - t0:6.2f} s "
        f"(cpu {time.process_time() - c0:.2f} s){_server_cpu()}",
        file=out,
        flush=True,
    )
    total = round(time.perf_counter() - t_all, 2)
    cpu_total = round(time.process_time() - c_all, 2)
    print(
        f"  generated {sum(ctx.rows.values()):,} rows in {total:.1f} s (cpu {cpu_total:.1f} s, load average "
        f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}): "
        + ", ".join(f"{k.split('.')[-1]} {v:,}" for k, v in ctx.rows.items()),
        file=out,
        flush=True,
    )
    return {
        "seconds": total,
        "cpu_seconds": cpu_total,
        "steps": timings,
        "steps_cpu": cpu,
        "loadavg": list(os.getloadavg()),
        "rows": dict(ctx.rows),
    }


def build(
    database_url: str, scale: Scale, *, seed: int = 20231015, out=sys.stdout, now: datetime | None = None
) -> dict[str, Any]:
    """Fresh database, migrations, dataset. Call before django.setup() has connected."""
    fresh_database(database_url)
    configure(database_url)
    seconds = migrate()
    print(f"  migrated in {seconds:.1f} s", file=out, flush=True)
    info = generate(scale, seed=seed, out=out, now=now)
    info["migrate_seconds"] = round(seconds, 2)
    return info


def database_url_for(database: str, scale: Scale, url: str | None) -> str:
    if url:
        return url
    if database == "postgres":
        return DEFAULT_POSTGRES_URL
    return sqlite_url(scale.label)


def add_scale_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--scale",
        type=_scale_value,
        default=1.0,
        help="multiplier of the default 50 people / 20,000 tasks, or a preset name: M "
        "(500 people, 20 departments, 200,000 tasks)",
    )
    parser.add_argument("--preset", choices=sorted(PRESETS), help="a named scale (same as --scale M)")
    parser.add_argument("--tasks", type=int, help="number of tasks (overrides --scale)")
    parser.add_argument("--people", type=int, help="number of people (overrides --scale)")
    parser.add_argument(
        "--departments", type=int, help=f"number of business departments (default {BASE_DEPARTMENTS})"
    )
    parser.add_argument("--database", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument(
        "--database-url", help=f"default: a SQLite file under var/bench/, or {DEFAULT_POSTGRES_URL}"
    )
    parser.add_argument("--seed", type=int, default=20231015)


def _scale_value(value: str) -> float | str:
    """`--scale`: a number, or the name of a preset (M)."""
    if value.upper() in PRESETS:
        return value.upper()
    try:
        return float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"a number or one of {', '.join(PRESETS)}") from None


def scale_from(args: argparse.Namespace) -> Scale:
    preset = getattr(args, "preset", None) or (args.scale if isinstance(args.scale, str) else None)
    if preset:
        base = Scale.preset_of(preset)
        return Scale(
            people=args.people or base.people,
            departments=args.departments or base.departments,
            tasks=args.tasks if args.tasks is not None else base.tasks,
            preset=base.preset,
        )
    return Scale.of(args.scale, people=args.people, departments=args.departments, tasks=args.tasks)


def _moment(value: str) -> datetime:
    """`--now`: an ISO 8601 moment with its UTC offset."""
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError("an ISO 8601 moment, e.g. 2026-12-01T12:00:00+00:00") from None
    if at.tzinfo is None:
        raise argparse.ArgumentTypeError("give the UTC offset, e.g. 2026-12-01T12:00:00+00:00")
    return at


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Generate a fresh benchmark database.")
    add_scale_arguments(parser)
    parser.add_argument(
        "--now",
        type=_moment,
        help="the moment the data is made at, ISO 8601 with offset (default: now); with the seed "
        "it fixes every row, e.g. to compare two revisions of the generator",
    )
    args = parser.parse_args(argv)
    scale = scale_from(args)
    url = database_url_for(args.database, scale, args.database_url)
    print(
        f"Generating {scale.people} people, {scale.departments} departments, {scale.tasks:,} tasks into {url}",
        flush=True,
    )
    build(url, scale, seed=args.seed, now=args.now)
    return 0


if __name__ == "__main__":
    sys.exit(main())
