"""The patient portal (/portal/): a patient's own record, nothing else.

Every view gets the patient from `access.patient_of(request.user)` (the login's
own record) and reaches other rows only through it, so another patient's data
can't be named by any URL or form. Staff and logins without a patient record get
404. Reads of the record are audited with `metadata.via = "portal"`; writes go
through the services, which audit them.
"""

from __future__ import annotations

import copy

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from mahalo import audit
from mahalo.models import StaffMember
from patients import care_team
from patients.models import CareTeamLink, Patient
from patients.services import patient_update
from patients.shell import portal_page


def _audit_read(request, patient: Patient, page: str) -> None:
    audit.record(request=request, action="read", resource="patients", patient=patient,
                 metadata={"via": "portal", "page": page})


@portal_page
def portal_home(request: HttpRequest, patient: Patient) -> HttpResponse:
    """The patient's own page. Staff have the registry instead."""
    _audit_read(request, patient, "home")
    links = care_team.links_for(patient)
    return render(request, "portal/home.html", {
        "patient": patient,
        "team": [x for x in links if x.status == CareTeamLink.Status.ACTIVE],
        "pending": [x for x in links if x.status == CareTeamLink.Status.REQUESTED],
        "portal_nav": "home",
    })


# --- Profile ------------------------------------------------------------------

PROFILE_FIELDS = [
    "preferred_name",
    "phone", "phone_type", "alternate_phone", "preferred_contact_method", "preferred_contact_time",
    "street_address", "city", "state", "postal_code",
    "emergency_contact_1_name", "emergency_contact_1_relationship", "emergency_contact_1_phone",
    "emergency_contact_2_name", "emergency_contact_2_relationship", "emergency_contact_2_phone",
]
PHONE_FIELDS = ("phone", "alternate_phone", "emergency_contact_1_phone", "emergency_contact_2_phone")
AUTOCOMPLETE = {
    "preferred_name": "nickname", "phone": "tel", "alternate_phone": "tel", "street_address": "street-address",
    "city": "address-level2", "state": "address-level1", "postal_code": "postal-code",
    "emergency_contact_1_name": "off", "emergency_contact_2_name": "off",
}


class ProfileForm(forms.ModelForm):
    class Meta:
        model = Patient
        fields = PROFILE_FIELDS
        labels = {
            "phone": "Phone", "alternate_phone": "Other phone",
            "preferred_contact_method": "Best way to reach you", "preferred_contact_time": "Best time to reach you",
            "street_address": "Street address", "postal_code": "ZIP code",
            "emergency_contact_1_name": "Contact's name", "emergency_contact_1_relationship": "Relationship to you",
            "emergency_contact_1_phone": "Contact's phone",
            "emergency_contact_2_name": "Contact's name", "emergency_contact_2_relationship": "Relationship to you",
            "emergency_contact_2_phone": "Contact's phone",
        }
        help_texts = {
            "phone": "For example (808) 555-0142, or +44 20 7946 0958 outside the US.",
            "preferred_name": "What you like to be called, if not your first name.",
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, field in self.fields.items():
            attrs = field.widget.attrs
            if name in PHONE_FIELDS:
                field.widget.input_type = "tel"
                attrs.update(inputmode="tel", autocomplete=AUTOCOMPLETE.get(name, "off"))
                field.error_messages["invalid"] = "Enter a phone number such as (808) 555-0142, or start with + " \
                                                  "and the country code."
            elif name in AUTOCOMPLETE:
                attrs["autocomplete"] = AUTOCOMPLETE[name]
            if isinstance(field, forms.ChoiceField):
                field.choices = [("", "—")] + [c for c in field.choices if c[0]]

    def clean(self):
        data = super().clean()
        for n in ("1", "2"):
            name = (data.get(f"emergency_contact_{n}_name") or "").strip()
            phone = data.get(f"emergency_contact_{n}_phone")
            relationship = (data.get(f"emergency_contact_{n}_relationship") or "").strip()
            if (phone or relationship) and not name:
                self.add_error(f"emergency_contact_{n}_name", "Add the contact's name.")
            if name and not phone and f"emergency_contact_{n}_phone" not in self.errors:
                self.add_error(f"emergency_contact_{n}_phone", "Add a phone number for this contact.")
        method = data.get("preferred_contact_method")
        if method in (Patient.ContactMethod.PHONE, Patient.ContactMethod.TEXT) and not data.get("phone") \
                and "phone" not in self.errors:
            self.add_error("phone", "Add a phone number, or choose another way to reach you.")
        if method == Patient.ContactMethod.TEXT and data.get("phone") and data.get("phone_type") \
                and data["phone_type"] != Patient.PhoneType.MOBILE:
            self.add_error("phone_type", "Text messages need a mobile phone.")
        return data

    def emergency_groups(self):
        return [(n, [self[f"emergency_contact_{n}_{f}"] for f in ("name", "relationship", "phone")])
                for n in ("1", "2")]


@require_http_methods(["GET", "POST"])
@portal_page
def portal_profile(request: HttpRequest, patient: Patient) -> HttpResponse:
    # The form works on a copy: a failed validation must not leave typed values
    # on the request's cached patient, and patient_update compares against it.
    if request.method == "POST":
        form = ProfileForm(request.POST, instance=copy.copy(patient))
        if form.is_valid():
            changes = {name: form.cleaned_data[name] for name in form.changed_data}
            try:
                changed = patient_update(patient=patient, actor=request.user, changes=changes, request=request,
                                         via="portal")
            except ValidationError as exc:
                # A rule of the whole record (Patient.clean) the form couldn't see.
                for field, errors in exc.message_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
            else:
                if changed:
                    messages.success(request, "Your details are saved. Your care team sees the update.")
                else:
                    messages.info(request, "Nothing changed.")
                return redirect("portal_profile")
    else:
        form = ProfileForm(instance=copy.copy(patient))
        _audit_read(request, patient, "profile")
    return render(request, "portal/profile.html", {"patient": patient, "form": form, "portal_nav": "profile"})


# --- Care team ------------------------------------------------------------------

class CareTeamRequestForm(forms.Form):
    staff = forms.ModelChoiceField(
        queryset=StaffMember.objects.none(), label="Clinician", widget=forms.RadioSelect,
        error_messages={"required": "Choose who you would like on your care team.",
                        "invalid_choice": "That person isn't available to your program. Choose someone from the list."},
    )
    note = forms.CharField(label="Message (optional)", required=False, max_length=300,
                           widget=forms.Textarea(attrs={"rows": 3, "maxlength": 300}),
                           help_text="A few words on why, if you like. Don't include urgent medical questions.")

    def __init__(self, *args, patient: Patient, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["staff"].queryset = care_team.requestable_staff(patient)


@require_http_methods(["GET", "POST"])
@portal_page
def portal_care_team(request: HttpRequest, patient: Patient) -> HttpResponse:
    if request.method == "POST":
        form = CareTeamRequestForm(request.POST, patient=patient)
        if form.is_valid():
            staff = form.cleaned_data["staff"]
            try:
                care_team.care_team_request(patient=patient, staff=staff, actor=request.user,
                                            note=form.cleaned_data["note"], request=request, via="portal")
            except ValidationError as exc:
                form.add_error("staff", exc.messages)
            else:
                messages.success(request, f"Request sent to {staff.user}. They join your care team once they accept.")
                return redirect("portal_care_team")
    else:
        form = CareTeamRequestForm(patient=patient)
        _audit_read(request, patient, "care_team")
    links = care_team.links_for(patient)
    selected = str(form["staff"].value() or "")
    return render(request, "portal/care_team.html", {
        "patient": patient,
        "form": form,
        "options": list(form.fields["staff"].queryset),
        "selected": selected,
        "team": [x for x in links if x.status == CareTeamLink.Status.ACTIVE],
        "pending": [x for x in links if x.status == CareTeamLink.Status.REQUESTED],
        "past": [x for x in links if x.status in (CareTeamLink.Status.ENDED, CareTeamLink.Status.BLOCKED)],
        "portal_nav": "care_team",
    })


@require_POST
@portal_page
def portal_care_team_withdraw(request: HttpRequest, patient: Patient, link_id) -> HttpResponse:
    """Withdraw one of my own pending requests."""
    link = CareTeamLink.objects.select_related("staff__user").filter(pk=link_id, patient=patient).first()
    if link is None:
        raise Http404
    try:
        care_team.care_team_transition(link=link, to=CareTeamLink.Status.ENDED, actor=request.user, request=request,
                                       via="portal", from_states=[CareTeamLink.Status.REQUESTED])
    except care_team.TransitionError:
        messages.error(request, f"Your request to {link.staff.user} was already answered, so it can't be withdrawn.")
    else:
        messages.success(request, f"Your request to {link.staff.user} is withdrawn.")
    return redirect("portal_care_team")


# --- Notifications ----------------------------------------------------------------
