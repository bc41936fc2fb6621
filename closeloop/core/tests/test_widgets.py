from django import forms

from closeloop.core.widgets import FastSelect, FastSelectMultiple


class PickForm(forms.Form):
    owner = forms.ChoiceField(choices=[("", "全部"), ("1", "王强"), ("2", "<b>李娜</b>")], widget=FastSelect)
    team = forms.MultipleChoiceField(
        choices=[("1", "王强"), ("2", "李娜"), ("3", "张伟")], widget=FastSelectMultiple
    )


def test_it_marks_the_chosen_option_and_escapes_names():
    html = str(PickForm(data={"owner": "2", "team": ["1", "3"]})["owner"])
    assert '<option value="2" selected>&lt;b&gt;李娜&lt;/b&gt;</option>' in html
    assert '<option value="1">王强</option>' in html
    assert 'name="owner"' in html


def test_a_multiple_select_keeps_every_chosen_value_after_a_post():
    form = PickForm(data={"owner": "1", "team": ["1", "3"]})
    assert form.is_valid()
    assert form.cleaned_data["team"] == ["1", "3"]
    html = str(form["team"])
    assert "multiple" in html
    assert '<option value="1" selected>' in html and '<option value="3" selected>' in html
    assert '<option value="2">' in html
