"""The vagueness check at intake (任务发起): does a title and description say who, what result
and by when? Pure: the caller hands in the text and the names it knows (customers, projects,
people from the database); nothing here touches the database.

The handbook's example: "处理客户问题" is vague; "解决A客户关于功能的投诉,24小时内回复解决方案"
names a party (A客户), a result (回复解决方案) and a deadline (24小时内).
"""

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.utils.translation import gettext as _

_NUM = r"(?:\d+(?:\.\d+)?|[一二两三四五六七八九十百千]+)"
_WEEKDAY = r"(?:周|星期|礼拜)[一二三四五六日天1-7]"

DEADLINE_PATTERNS = [
    rf"{_NUM}\s*(?:个)?(?:小时|工作日|天|日|周|个?星期|个月)(?:之?内|以内|前)",
    r"\d{1,2}\s*月\s*\d{1,2}\s*[日号]?\s*(?:之?前|以前|截止|前完成|完成|交付|提交)?",
    r"\d{4}\s*[-/.年]\s*\d{1,2}\s*[-/.月]\s*\d{1,2}\s*[日号]?",
    r"\d{1,2}/\d{1,2}",
    r"(?:本|这|下|下下|上)?(?:周|星期|礼拜)[一二三四五六日天1-7](?:之?前|以前)?",
    rf"{_WEEKDAY}",
    r"(?:本|这个?|下个?)?月(?:底|末|初|中)(?:之?前)?",
    r"(?:本|这个?|下个?)?(?:季度|年)(?:底|末|初)(?:之?前)?",
    r"今天|今晚|今日|明天|明早|后天|下班前|当天|当日|月内|周内|(?:本|这|下)周内?",
    r"截止|截至|期限|到期|deadline",
    r"\b(?:by|before|until|within)\s+(?:\d|mon|tue|wed|thu|fri|sat|sun|tomorrow|today|end|next|the)\w*",
    r"\b(?:eod|eow|today|tomorrow)\b",
    r"\b(?:mon|tues|wednes|thurs|fri)day\b",
]

QUANTITY_PATTERNS = [
    r"\d+(?:\.\d+)?\s*(?:%|％|个百分点)",
    r"百分之[一二三四五六七八九十百\d]+",
    rf"{_NUM}\s*(?:个|家|份|位|名|条|场|次|篇|页|张|套|单|户|人|元|万元?|亿元?|万|千|k|w)(?![小工天周月])",
    r"[≥≤><]=?\s*\d",
    r"(?:提升|提高|增长|降低|减少|达到|不低于|不少于|不超过|至少|超过)\s*\d",
    r"\b\d+(?:\.\d+)?\s*(?:%|percent|users|customers|pages|items)\b",
]

# Named parties: "A客户", "客户A", "XX公司", "某某部", an @mention.
PARTY_PATTERNS = [
    r"[A-Za-z0-9]{1,10}\s*(?:客户|公司|集团|供应商|渠道|门店|项目|部门?)",
    r"(?:客户|公司|供应商)\s*[A-Z0-9]{1,10}\b",
    r"[\u4e00-\u9fff]{2,8}(?:公司|集团|银行|医院|学校|大学|超市|商场|门店|分公司|事业部)",
    r"(?:销售|市场|产品|运营|技术|财务|人事|法务|客服)部",
    r"@\S+",
    r"\b(?:customer|client|company|team)\s+[A-Z]\w*",
]

# Concrete results: a deliverable noun, or a verb that ends in one.
RESULT_PATTERNS = [
    r"(?:方案|报表|报告|原型|文案|合同|协议|清单|计划|海报|页面|设计稿|纪要|总结|材料|数据|名单|PPT|ppt|文档|版本|预算|报价|发票|邮件|回复|答复|分析)",
    r"(?:完成|提交|交付|上线|发布|签约|签订|签署|回复|输出|整理出|确定|落地|召开|举办|关闭|解决|修复|达成|回款|发货|录入|上报|报送)",
    r"\b(?:deliver|submit|send|publish|launch|sign|fix|resolve|close|write|prepare|finish|complete|reply)\w*",
]

# Phrases that say "something will happen" without saying what: alone, they make a task vague.
VAGUE_PATTERNS = [
    r"跟进一下|看一下|看看|处理一下|弄一下|搞一下|了解一下|研究一下|沟通一下|协调一下|关注一下|盯一下|推进一下",
    r"^(?:处理|跟进|关注|协调|推进|优化|对接|沟通|了解|研究|负责|配合)",
    r"相关(?:问题|事宜|工作|事项)|有关事宜|等事项|各种问题|一些问题|客户问题|尽快|抓紧|及时",
    r"\b(?:look into|follow up|handle|deal with|check on|sort out|take care of|asap|some issues?|stuff)\b",
]


def _compile(patterns: list[str]) -> re.Pattern:
    return re.compile("|".join(f"(?:{p})" for p in patterns), re.IGNORECASE)


_DEADLINE = _compile(DEADLINE_PATTERNS)
_QUANTITY = _compile(QUANTITY_PATTERNS)
_PARTY = _compile(PARTY_PATTERNS)
_RESULT = _compile(RESULT_PATTERNS)
_VAGUE = _compile(VAGUE_PATTERNS)


@dataclass
class IntakeCheck:
    deadlines: list[str] = field(default_factory=list)
    quantities: list[str] = field(default_factory=list)
    parties: list[str] = field(default_factory=list)
    results: list[str] = field(default_factory=list)
    vague_phrases: list[str] = field(default_factory=list)

    @property
    def has_deadline(self) -> bool:
        return bool(self.deadlines)

    @property
    def has_party(self) -> bool:
        return bool(self.parties)

    @property
    def has_result(self) -> bool:
        return bool(self.results or self.quantities)

    @property
    def missing(self) -> list[str]:
        """What the text leaves unsaid: "party", "result", "deadline"."""
        out = []
        if not self.has_party:
            out.append("party")
        if not self.has_result:
            out.append("result")
        if not self.has_deadline:
            out.append("deadline")
        return out

    @property
    def vague(self) -> bool:
        """Vague: none of who / what result / by when is named; or a filler phrase
        ("跟进一下", "look into it") with at most one of them."""
        named = 3 - len(self.missing)
        if named == 0:
            return True
        return bool(self.vague_phrases) and named < 2

    def hint(self) -> str:
        """How to say it in the handbook's style, naming what is missing."""
        if not self.vague:
            return ""
        parts = {
            "party": _("who it is for (e.g. A客户, 市场部)"),
            "result": _("the concrete result (e.g. 回复解决方案, 完成报表, 转化率 ≥ 5%)"),
            "deadline": _("by when (e.g. 24小时内, 10月15日前, 本周五)"),
        }
        missing = "; ".join(parts[m] for m in self.missing)
        return _(
            "This says what will be worked on, not what will be done. Name %(missing)s — "
            "like “解决A客户关于功能的投诉,24小时内回复解决方案” instead of “处理客户问题”."
        ) % {"missing": missing}

    def as_dict(self) -> dict:
        return {
            "vague": self.vague,
            "missing": self.missing,
            "hint": self.hint(),
            "deadlines": self.deadlines,
            "quantities": self.quantities,
            "parties": self.parties,
            "results": self.results,
            "vague_phrases": self.vague_phrases,
        }


def _found(pattern: re.Pattern, text: str) -> list[str]:
    return list(dict.fromkeys(m.group(0).strip() for m in pattern.finditer(text) if m.group(0).strip()))


def check(*texts: str, known_names: Iterable[str] = ()) -> IntakeCheck:
    """Read title and description together. `known_names` are customers, projects and
    people: naming one of them names a party."""
    text = "\n".join(t for t in texts if t).strip()
    result = IntakeCheck()
    if not text:
        return result
    result.deadlines = _found(_DEADLINE, text)
    result.quantities = _found(_QUANTITY, text)
    result.parties = _found(_PARTY, text)
    lowered = text.lower()
    for name in known_names:
        name = (name or "").strip()
        if len(name) >= 2 and name.lower() in lowered and name not in result.parties:
            result.parties.append(name)
    # "客户问题" names no result even though "问题" is about something: only a deliverable counts.
    result.results = _found(_RESULT, text)
    result.vague_phrases = _found(_VAGUE, text)
    return result
