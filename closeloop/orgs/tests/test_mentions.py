"""@mentions as Chinese users type them: no space after the name, `@` right after a Chinese
character, the longest known name wins, only people the caller allows."""

from closeloop.orgs.mentions import find_mentions, people_of
from closeloop.testing.factories import UserFactory


def everyone(_person):
    return True


def names(found):
    return [(m.handle, [p.username for p in m.people]) for m in found]


def test_a_name_followed_by_more_chinese_text_is_found(db):
    UserFactory(username="sales_manager", name="李娜")
    assert names(find_mentions("@李娜请确认预算", allowed=everyone)) == [("李娜", ["sales_manager"])]
    assert names(find_mentions("麻烦@李娜 确认", allowed=everyone)) == [("李娜", ["sales_manager"])]
    assert names(find_mentions("麻烦＠李娜确认", allowed=everyone)) == [("李娜", ["sales_manager"])]


def test_the_longest_known_name_wins(db):
    UserFactory(username="lina", name="李娜")
    UserFactory(username="linana", name="李娜娜")
    assert names(find_mentions("@李娜娜请看", allowed=everyone)) == [("李娜娜", ["linana"])]
    # …unless the longer one may not see it: then the shorter one is meant.
    only_lina = find_mentions("@李娜娜请看", allowed=lambda p: p.username == "lina")
    assert names(only_lina) == [("李娜", ["lina"])]


def test_a_username_must_end_where_the_latin_word_ends(db):
    UserFactory(username="li", name="李四")
    UserFactory(username="sales_head", name="王强")
    assert names(find_mentions("@sales_head确认", allowed=everyone)) == [("sales_head", ["sales_head"])]
    assert find_mentions("@lisa 在吗", allowed=everyone) == []
    assert names(find_mentions("@li，在吗", allowed=everyone)) == [("li", ["li"])]


def test_an_email_address_and_unknown_names_are_not_mentions(db):
    UserFactory(username="example", name="王五")
    assert find_mentions("发到 wang@example.com", allowed=everyone) == []
    assert find_mentions("@张三丰 你好", allowed=everyone) == []
    assert find_mentions("", allowed=everyone) == []


def test_only_the_people_the_caller_allows(db):
    a = UserFactory(username="a1", name="李娜")
    b = UserFactory(username="b1", name="赵六")
    found = find_mentions("@李娜 @赵六 @李娜", allowed=lambda p: p.pk == a.pk)
    assert people_of(found) == [a] and b not in people_of(found)
