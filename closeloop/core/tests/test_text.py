"""`core.text`: labels of server-rendered SVG cut by their drawn width — a CJK character
counts double a Latin one — with "…", since SVG text has no text-overflow."""

from closeloop.core.text import fit_text, text_width


def test_a_label_that_fits_is_whole_and_one_that_does_not_ends_in_an_ellipsis():
    assert fit_text("T001 老用户召回", 200, 12) == "T001 老用户召回"
    cut = fit_text("T004 跟进B客户签约进度", 100, 12)
    assert cut.endswith("…") and "T004 跟进B客户签约进度".startswith(cut[:-1])
    assert text_width(cut, 12) <= 100 < text_width("T004 跟进B客户签约进度", 12)


def test_chinese_characters_count_double():
    assert text_width("签约", 12) == 24 and round(text_width("ab", 12), 2) == 14.88
    # The same width holds many more Latin letters than Chinese characters.
    assert fit_text("a" * 40, 120, 12) == "a" * 15 + "…" and fit_text("签" * 40, 120, 12) == "签" * 9 + "…"


def test_no_room_leaves_the_ellipsis_alone_and_no_trailing_space():
    assert fit_text("签约", 5, 12) == "…"
    assert fit_text("T001 签约签约签约", 50, 12) == "T001…"
