"""知识库 as a tester met it on a phone: a phrase spanning words a lesson wrote apart
(合同模板预审) finds that lesson, saying so; tags are ≥ 32 px touch targets, the chosen one
stands out, and the four drop-downs fold behind 筛选 so the lessons start on the first screen."""

import pytest

from closeloop.review.services import retrospective_write
from closeloop.review.tests.test_knowledge import accept
from closeloop.testing.clients import english_client
from closeloop.testing.factories import make_task

PHONE = {"width": 390, "height": 844}


def _lessons(head, member, sales):
    contract = accept(make_task(actor=head, department=sales, owner=member, title="B客户签约"), member, head)
    retrospective_write(
        actor=head,
        task=contract,
        what_worked="合同模板固定后谈判顺利",
        to_improve="条款改动要提前给法务预审",
        tags="合同，法务",
    )
    other = accept(make_task(actor=head, department=sales, owner=member, title="C客户续约"), member, head)
    # 合同 and 预审, but no 模板: not every word of the phrase.
    retrospective_write(actor=head, task=other, what_worked="合同当天预审完成", to_improve="", tags="合同")
    report = accept(make_task(actor=head, department=sales, owner=member, title="月度销售报表"), member, head)
    retrospective_write(
        actor=head, task=report, what_worked="模板复用", to_improve="口径先与财务对齐", tags="报表"
    )
    return contract, other


@pytest.mark.django_db
def test_a_phrase_spanning_words_written_apart_finds_the_lesson_and_says_so(head, member, sales):
    contract, other = _lessons(head, member, sales)
    c = english_client(head)
    page = c.get("/knowledge/", {"q": "合同模板预审"}).content.decode()
    assert (
        "条款改动要提前给法务预审" in page
        and "合同当天预审完成" not in page
        and "口径先与财务对齐" not in page
    )
    assert "No lesson has “合同模板预审” as written; these hold each of its words." in page
    api = c.get("/api/v1/knowledge", {"q": "合同模板预审"}).json()
    assert api["count"] == 1 and api["items"][0]["task"]["id"] == contract.pk
    # A phrase a lesson holds as written is matched as before, without the note.
    page = c.get("/knowledge/", {"q": "合同模板"}).content.decode()
    assert "条款改动要提前给法务预审" in page and "合同当天预审完成" not in page
    assert "as written" not in page
    page = c.get("/knowledge/", {"q": "当天预审"}).content.decode()
    assert "合同当天预审完成" in page and "条款改动" not in page and "as written" not in page
    # Words none of the lessons hold still find nothing.
    assert "No lessons found." in c.get("/knowledge/", {"q": "合同模板终审"}).content.decode()


@pytest.mark.browser
def test_on_a_phone_tags_are_touch_targets_and_the_lessons_start_on_the_first_screen(
    browser, live_server, transactional_db, tmp_path, settings
):
    from closeloop.orgs.models import Membership
    from closeloop.testing.browser import ARTIFACTS, PASSWORD
    from closeloop.testing.factories import DepartmentFactory, UserFactory, add_member

    settings.MEDIA_ROOT = str(tmp_path)
    sales = DepartmentFactory(code="SALES", name="销售部")
    head = UserFactory(username="sales_head", name="王总", password=PASSWORD)
    member = UserFactory(username="sales_specialist", name="李专员", password=PASSWORD)
    add_member(head, sales, Membership.Role.MANAGER)
    add_member(member, sales)
    sales.head = head
    sales.save(update_fields=["head"])
    _lessons(head, member, sales)
    ARTIFACTS.mkdir(exist_ok=True)

    ctx = browser.new_context(viewport=PHONE, locale="zh-CN")
    page = ctx.new_page()
    page.goto(live_server.url + "/login/")
    page.fill("input[name=username]", "sales_head")
    page.fill("input[name=password]", PASSWORD)
    page.locator("form button[type=submit]").first.click()
    page.wait_for_url(live_server.url + "/")

    page.goto(live_server.url + "/knowledge/?tag=%E5%90%88%E5%90%8C")  # ?tag=合同
    page.screenshot(path=str(ARTIFACTS / "knowledge-phone.png"))
    heights = page.eval_on_selector_all("a.tag", "els => els.map(e => e.getBoundingClientRect().height)")
    assert heights and min(heights) >= 32, heights
    # The chosen tag is filled: its background is not the others'.
    on = page.locator(".tag-bar a.tag--on")
    assert on.get_attribute("aria-current") == "true"
    off = page.locator(".tag-bar a.tag:not(.tag--on)").first
    bg = "e => getComputedStyle(e).backgroundColor"
    assert on.evaluate(bg) != off.evaluate(bg)
    # The drop-downs are folded behind 筛选; the first lesson starts on the first screen.
    assert page.locator("details.knowledge-filters").evaluate("d => d.open") is False
    assert not page.locator("#ktype").is_visible()
    top = page.locator("#lessons article").first.evaluate("e => e.getBoundingClientRect().top")
    assert top < PHONE["height"], top
    page.locator("details.knowledge-filters > summary").click()
    assert page.locator("#ktype").is_visible()
    # A drop-down in use: the filters stand open.
    page.goto(live_server.url + "/knowledge/?type=project")
    assert page.locator("#ktype").is_visible()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    ctx.close()
