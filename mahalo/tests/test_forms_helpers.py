from django import forms
from django.core.exceptions import ValidationError

from mahalo.forms import add_errors, error_messages


class _Form(forms.Form):
    name = forms.CharField()


def test_error_messages_flattens_field_and_plain_errors():
    assert error_messages(ValidationError({"a": ["one"], "b": ["two", "three"]})) == ["one", "two", "three"]
    assert error_messages(ValidationError("plain")) == ["plain"]


def test_add_errors_puts_known_fields_on_the_field_and_the_rest_form_wide():
    form = _Form({"name": "kept"})
    assert form.is_valid()
    add_errors(form, ValidationError({"name": "Taken.", "elsewhere": "Other."}))
    assert form.errors["name"] == ["Taken."] and form.non_field_errors() == ["Other."]
    assert form.data["name"] == "kept"
    other = _Form({"name": "x"})
    other.is_valid()
    add_errors(other, ValidationError("Whole form."))
    assert other.non_field_errors() == ["Whole form."]
