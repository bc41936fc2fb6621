"""The people pickers' search: anyone signed in finds any active person by a piece of their
name or username, a few at a time, in a fixed number of queries; the picker widget lists only
the chosen people and the suggestions, never the whole directory."""

import re

import pytest
from django import forms
from django.db import connection
from django.test.utils import CaptureQueriesContext

from closeloop.orgs import selectors
from closeloop.orgs.models import User
from closeloop.orgs.widgets import PeoplePicker, PeopleSuggestions, PersonPicker
from closeloop.testing.clients import english_client
from closeloop.testing.factories import UserFactory, add_people

pytestmark = pytest.mark.django_db

URL = "/people/search/"


@pytest.fixture
def web(member):
    return english_client(member)


@pytest.fixture
def zhang(marketing):
    # From another department: the directory is company-wide.
    user = UserFactory(username="zhangsan", name="张三", email="zhangsan@example.com", mobile="13800000000")
    return user


def options(html: str) -> list[tuple[str, str, bool]]:
    """(value, label, selected) of every <option>, in order."""
    return [
        (value, label, bool(sel))
        for value, sel, label in re.findall(r'<option value="([^"]*)"( selected)?>([^<]*)</option>', html)
    ]


def values(html: str) -> list[str]:
    return [v for v, _label, _sel in options(html) if v]


def test_it_finds_a_person_by_any_part_of_a_chinese_name(web, zhang):
    for q in ("张", "三", "张三"):
        html = web.get(URL, {"q": q}).content.decode()
        assert ("zhangsan" in html) and (str(zhang.pk) in values(html)), q
    assert "张三 · zhangsan" in web.get(URL, {"q": "三"}).content.decode()


def test_it_finds_a_person_by_username_in_any_case(web, zhang):
    assert values(web.get(URL, {"q": "ZhangS"}).content.decode()) == [str(zhang.pk)]
    assert values(web.get(URL, {"q": "angsa"}).content.decode()) == [str(zhang.pk)]


def test_every_word_must_match(web, zhang):
    UserFactory(username="zhangwei", name="张伟")
    assert values(web.get(URL, {"q": "张 zhangs"}).content.decode()) == [str(zhang.pk)]


def test_it_never_shows_inactive_people(web, zhang):
    gone = UserFactory(username="zhangold", name="张离职", is_active=False)
    html = web.get(URL, {"q": "张"}).content.decode()
    assert str(zhang.pk) in values(html)
    assert str(gone.pk) not in values(html) and "张离职" not in html
    # Not as a suggestion or a chosen one either.
    html = web.get(
        URL, {"field": "owner", "owner": gone.pk, "suggest": f"{gone.pk},{zhang.pk}"}
    ).content.decode()
    assert values(html) == [str(zhang.pk)]


def test_it_shows_name_and_username_only(web, zhang):
    html = web.get(URL, {"q": "张"}).content.decode()
    assert "zhangsan@example.com" not in html and "13800000000" not in html


def test_it_escapes_names(web):
    UserFactory(username="evil", name="<b>坏人</b>")
    html = web.get(URL, {"q": "坏"}).content.decode()
    assert "<b>" not in html and "&lt;b&gt;坏人&lt;/b&gt;" in html


HTMX = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "id_owner"}


def status(html: str) -> str:
    """What the picker says under its search box (htmx swaps it in out of band)."""
    return re.search(r'<span id="id_owner_status" hx-swap-oob="innerHTML">([^<]*)</span>', html)[1]


def test_it_caps_the_matches_and_says_there_are_more(web, marketing):
    add_people(marketing, 45, prefix="wang", name="王")
    html = web.get(URL, {"q": "王"}, **HTMX).content.decode()
    assert len(values(html)) == selectors.PEOPLE_SEARCH_LIMIT == 20
    assert status(html).startswith("More than 20 found")


def test_it_says_how_many_it_found(web, zhang):
    assert status(web.get(URL, {"q": "张"}, **HTMX).content.decode()) == "1 person found: choose in the list."
    # Nothing typed: nothing to say.
    assert status(web.get(URL, {"q": ""}, **HTMX).content.decode()) == ""


def test_it_lists_exact_and_prefix_matches_first(web, marketing, member):
    add_people(marketing, 30, prefix="li", name="小李")  # 小李0000…: contain 李, start with 小
    prefix = UserFactory(username="lisi", name="李四")
    exact = UserFactory(username="li", name="李")
    found = values(web.get(URL, {"q": "李"}).content.decode())
    # The exact one, then those starting with 李 (李四, 李专员 the member), then the rest.
    assert found[0] == str(exact.pk)
    assert set(found[1:3]) == {str(prefix.pk), str(member.pk)}


def test_it_says_when_no_one_matches(web):
    html = web.get(URL, {"q": "不存在的人"}, **HTMX).content.decode()
    assert values(html) == [] and status(html) == "No one found for “不存在的人”."


def test_it_keeps_the_chosen_people_first_and_selected(web, zhang, head, marketing):
    other = UserFactory(username="zhangwei", name="张伟")
    html = web.get(
        URL, {"q": "张", "field": "collaborators", "collaborators": [head.pk, other.pk]}
    ).content.decode()
    opts = options(html)
    assert [(v, sel) for v, _label, sel in opts[:2]] == [(str(head.pk), True), (str(other.pk), True)]
    assert (str(zhang.pk), "张三 · zhangsan", False) in opts
    assert values(html).count(str(other.pk)) == 1


def test_it_keeps_the_empty_choice_of_a_single_picker(web, zhang):
    html = web.get(URL, {"q": "张", "field": "reviewer", "reviewer": "", "blank": "The department head"})
    opts = options(html.content.decode())
    assert opts[0] == ("", "The department head", False)


def test_with_nothing_typed_it_offers_the_pages_suggestions_again(web, zhang, head):
    html = web.get(URL, {"q": " ", "field": "owner", "owner": head.pk, "suggest": f"{zhang.pk},{head.pk},x"})
    assert [(v, sel) for v, _label, sel in options(html.content.decode())] == [
        (str(head.pk), True),
        (str(zhang.pk), False),
    ]


def test_it_ignores_junk_parameters(web, zhang):
    response = web.get(URL, {"q": "张", "field": "q", "suggest": "a,,-1", "owner": "x"})
    assert response.status_code == 200
    assert values(response.content.decode()) == [str(zhang.pk)]


def test_it_needs_a_signed_in_person(client, zhang):
    response = client.get(URL, {"q": "张"})
    assert response.status_code == 302 and response["Location"].startswith("/login/")
    # htmx gets a plain refusal rather than the login page swapped into the picker.
    assert client.get(URL, {"q": "张"}, HTTP_HX_REQUEST="true").status_code == 401


def test_anyone_signed_in_finds_people_of_every_department(client, outsider, head):
    client.force_login(outsider)  # 市场部 finds 销售部's head
    assert str(head.pk) in values(client.get(URL, {"q": "sales_head"}).content.decode())


def _queries(web, params) -> int:
    web.get(URL, params)
    with CaptureQueriesContext(connection) as ctx:
        response = web.get(URL, params)
    assert response.status_code == 200
    return len(ctx)


def test_it_searches_in_a_fixed_number_of_queries(web, marketing, head):
    params = {"q": "员工", "field": "collaborators", "collaborators": [head.pk]}
    add_people(marketing, 5)
    few = _queries(web, params)
    add_people(marketing, 1000, prefix="more")
    assert _queries(web, params) == few
    # Session and person, the matches, the chosen person not among them.
    assert few <= 4
    suggest = {
        "field": "owner",
        "owner": head.pk,
        "suggest": ",".join(str(p.pk) for p in User.objects.all()[:30]),
    }
    assert _queries(web, suggest) <= 3


# -- the selectors --------------------------------------------------------------------------


def test_suggestions_are_the_active_members_of_the_departments_by_name(
    sales, marketing, head, member, outsider
):
    UserFactory(username="left", is_active=False).memberships.create(department=sales)
    assert set(selectors.people_suggestions(department_ids=[sales.pk])) == {member, head}
    assert set(selectors.people_suggestions(department_ids=[sales.pk, marketing.pk])) == {
        member,
        head,
        outsider,
    }
    add_people(marketing, 40, prefix="a")
    assert [u.username for u in selectors.people_suggestions(department_ids=[marketing.pk], limit=3)] == [
        "a0000",
        "a0001",
        "a0002",
    ]  # by name: 员工0000, 员工0001, …
    assert selectors.people_suggestions(department_ids=[]) == []


# -- the widget -----------------------------------------------------------------------------


class PickForm(forms.Form):
    owner = forms.ModelChoiceField(queryset=User.objects.filter(is_active=True), widget=PersonPicker)
    team = forms.ModelMultipleChoiceField(
        queryset=User.objects.filter(is_active=True), required=False, widget=PeoplePicker
    )


def test_the_picker_lists_the_chosen_person_and_the_suggestions_never_everyone(
    sales, marketing, head, member, django_assert_max_num_queries
):
    crowd = add_people(marketing, 300)
    chosen = crowd[150]
    form = PickForm(initial={"owner": chosen.pk, "team": [member.pk]})
    shared = PeopleSuggestions(department_ids=[sales.pk])
    for f in ("owner", "team"):
        form.fields[f].widget.suggestions = shared
    with django_assert_max_num_queries(2):  # suggestions, the chosen owner (the team's is suggested)
        owner, team = str(form["owner"]), str(form["team"])
    assert values(owner)[0] == str(chosen.pk)
    assert set(values(owner)[1:]) == {str(member.pk), str(head.pk)}
    assert options(owner)[0] == ("", "---------", False)
    assert f'<option value="{chosen.pk}" selected>员工0150 · staff0150</option>' in owner
    assert "员工0151" not in owner and "员工0151" not in team
    assert 'name="owner"' in owner and 'id="id_owner"' in owner
    assert 'hx-get="/people/search/"' in owner and 'hx-target="#id_owner"' in owner
    assert "multiple" in team and f'<option value="{member.pk}" selected>' in team


def test_the_picker_posts_like_a_select(sales, marketing):
    crowd = add_people(marketing, 3)
    form = PickForm(data={"owner": str(crowd[2].pk), "team": [str(crowd[0].pk), str(crowd[1].pk)]})
    assert form.is_valid(), form.errors
    assert form.cleaned_data["owner"] == crowd[2]
    assert list(form.cleaned_data["team"]) == crowd[:2]
    # The search box is not part of the form: it names no form.
    assert 'name="q" form=""' in str(form["owner"])
