"""Small helpers every app's pages use to show a service's ValidationError on a form."""

from __future__ import annotations

from django.core.exceptions import ValidationError


def error_messages(exc: ValidationError) -> list[str]:
    """Every message of a ValidationError, field errors and plain ones alike, in order."""
    if hasattr(exc, "error_dict"):
        return [m for msgs in exc.message_dict.values() for m in msgs]
    return list(exc.messages)


def add_errors(form, exc: ValidationError) -> None:
    """Put a service's ValidationError on a bound form: on the field it names when the form
    has that field, otherwise as a form-wide error. The user's input stays in the form."""
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)
