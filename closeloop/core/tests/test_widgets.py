from django import forms

from closeloop.core.widgets import FastSelect


class PickForm(forms.Form):
    owner = forms.ChoiceField(choices=[("", "全部"), ("1", "王强"), ("2", "<b>李娜</b>")], widget=FastSelect)


def test_it_marks_the_chosen_option_and_escapes_names():
    html = str(PickForm(data={"owner": "2"})["owner"])
    assert '<option value="2" selected>&lt;b&gt;李娜&lt;/b&gt;</option>' in html
    assert '<option value="1">王强</option>' in html
    assert 'name="owner"' in html


def test_the_chosen_option_survives_a_failed_post():
    form = PickForm(data={"owner": "9"})
    assert not form.is_valid() and "owner" in form.errors
    form = PickForm(data={"owner": "1"})
    assert form.is_valid() and '<option value="1" selected>王强</option>' in str(form["owner"])
