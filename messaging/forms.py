"""Forms of the messaging pages: notification settings (one checkbox per event and channel)."""

from __future__ import annotations

from django import forms

from mahalo import access
from messaging.models import CHANNELS, EVENT_TYPES, SAFETY_CRITICAL_EVENTS
from messaging.notify import ALWAYS_CHANNELS, sms_configured


def events_for(user) -> list[tuple[str, str]]:
    """Staff get every event; patients everything but staff-only alerts and requests."""
    if access.is_staff_user(user):
        return list(EVENT_TYPES)
    return [(k, v) for k, v in EVENT_TYPES if k not in ("alert_created", "care_team_request", "task_due_soon",
                                                         "task_overdue")]


def channels_for() -> list[tuple[str, str]]:
    return [(k, v) for k, v in CHANNELS if k != "sms" or sms_configured()]


def pref_field(event: str, channel: str) -> str:
    return f"pref__{event}__{channel}"


class NotificationSettingsForm(forms.Form):
    quiet_start = forms.TimeField(required=False, label="Quiet hours start",
                                  widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"))
    quiet_end = forms.TimeField(required=False, label="Quiet hours end",
                                widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"))

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.staff = access.is_staff_user(user)
        self.events, self.channels = events_for(user), channels_for()
        for event, event_label in self.events:
            for channel, channel_label in self.channels:
                forced = self.staff and event in SAFETY_CRITICAL_EVENTS and channel in ALWAYS_CHANNELS
                self.fields[pref_field(event, channel)] = forms.BooleanField(
                    required=False, label=f"{event_label}: {channel_label}", disabled=forced,
                    initial=True if forced else None)

    def clean(self):
        data = super().clean()
        start, end = data.get("quiet_start"), data.get("quiet_end")
        if not self.errors.get("quiet_start") and not self.errors.get("quiet_end"):
            if (start is None) != (end is None):
                self.add_error("quiet_end" if start else "quiet_start",
                               "Give both a start and an end, or leave both empty.")
            elif start is not None and start == end:
                self.add_error("quiet_end", "The end must differ from the start.")
        return data

    def grid(self) -> list[dict]:
        return [{"label": label, "event": event,
                 "cells": [{"channel": label_c, "field": self[pref_field(event, ch)]} for ch, label_c in self.channels]}
                for event, label in self.events]

    def choices(self) -> dict[tuple[str, str], bool]:
        """(event, channel) -> wanted, for the boxes the user may change (forced ones are left out)."""
        return {(event, channel): bool(self.cleaned_data.get(pref_field(event, channel)))
                for event, _ in self.events for channel, _ in self.channels
                if not self.fields[pref_field(event, channel)].disabled}
