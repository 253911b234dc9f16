"""Forms of the patients pages: the staff record form, the bulk-import upload, the care-team
forms (staff add a colleague, a patient asks for a clinician) and the portal profile."""

from django import forms

from mahalo.models import StaffMember
from patients import care_team, importing
from patients.models import Patient, PatientFlag, Program

# The staff form, in the sections a clinician reads a record in.
SECTIONS = [
    ("Identity", ["first_name", "last_name", "preferred_name", "mrn", "date_of_birth", "sex"]),
    ("Enrollment", ["program", "move_reason", "flags"]),
    ("Contact", ["email", "phone", "phone_type", "alternate_phone", "preferred_contact_method",
                 "preferred_contact_time", "street_address", "city", "state", "postal_code", "country"]),
    ("Emergency contacts", ["emergency_contact_1_name", "emergency_contact_1_relationship",
                            "emergency_contact_1_phone", "emergency_contact_2_name",
                            "emergency_contact_2_relationship", "emergency_contact_2_phone"]),
    ("Health background", ["height_cm", "medication_allergies", "other_allergies", "chronic_conditions",
                           "smoking_status", "alcohol_use", "primary_doctor_name", "primary_doctor_phone"]),
    ("Cardiac rehab", ["surgery_date", "surgery_type", "current_stage", "discharge_summary", "target_heart_rate",
                       "max_heart_rate", "resting_heart_rate", "bp_goal_systolic", "bp_goal_diastolic",
                       "weight_goal_kg"]),
    ("Coverage", ["insurance_provider", "insurance_policy_number", "insurance_group_number", "preferred_pharmacy",
                  "pharmacy_phone"]),
    ("Background", ["primary_language", "occupation", "education", "living_situation", "primary_caregiver"]),
    ("Notes", ["notes"]),
]
MODEL_FIELDS = [f for _, fields in SECTIONS for f in fields if f not in ("program", "move_reason", "flags")]
WIDE = {"street_address", "medication_allergies", "other_allergies", "chronic_conditions", "discharge_summary",
        "notes", "move_reason"}


class PatientForm(forms.ModelForm):
    program = forms.ModelChoiceField(queryset=None, empty_label=None)
    move_reason = forms.CharField(
        label="Reason for a program change", required=False, max_length=300,
        help_text="Kept in the enrollment history when you move the patient to another program.",
    )
    flags = forms.MultipleChoiceField(choices=PatientFlag.Flag.choices, required=False,
                                      widget=forms.CheckboxSelectMultiple)

    class Meta:
        model = Patient
        fields = MODEL_FIELDS
        widgets = {
            "date_of_birth": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "surgery_date": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "medication_allergies": forms.Textarea(attrs={"rows": 2}),
            "other_allergies": forms.Textarea(attrs={"rows": 2}),
            "chronic_conditions": forms.Textarea(attrs={"rows": 2}),
            "discharge_summary": forms.Textarea(attrs={"rows": 3}),
            "notes": forms.Textarea(attrs={"rows": 4}),
        }
        labels = {
            "mrn": "MRN", "height_cm": "Height (cm)", "weight_goal_kg": "Weight goal (kg)",
            "bp_goal_systolic": "BP goal, systolic", "bp_goal_diastolic": "BP goal, diastolic",
            "target_heart_rate": "Target heart rate (bpm)", "max_heart_rate": "Maximum heart rate (bpm)",
            "resting_heart_rate": "Resting heart rate (bpm)",
        }

    def __init__(self, *args, programs, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["program"].queryset = programs
        if self.instance.pk:
            self.fields["program"].initial = self.instance.program_id
            self.fields["flags"].initial = list(self.instance.flags.values_list("flag", flat=True))
        else:
            self.fields.pop("move_reason")
        for name, field in self.fields.items():
            if name in ("phone", "alternate_phone", "emergency_contact_1_phone", "emergency_contact_2_phone",
                        "primary_doctor_phone", "pharmacy_phone"):
                field.widget.attrs.setdefault("type", "tel")
                field.help_text = field.help_text or "e.g. (808) 555-0142 or +44 20 7946 0958"

    def _post_clean(self):
        # The program is set by the service (it keeps the enrollment history);
        # validate the rest of the instance against the chosen program.
        program = self.cleaned_data.get("program")
        if program is not None:
            self.instance.program = program
            self.instance.project_id = program.project_id
        super()._post_clean()

    def sections(self):
        for title, names in SECTIONS:
            yield title, [self[n] for n in names if n in self.fields]

    def model_changes(self) -> dict:
        return {name: self.cleaned_data[name] for name in MODEL_FIELDS}


# --- Bulk import -----------------------------------------------------------------------

class ImportForm(forms.Form):
    file = forms.FileField(
        label="File",
        help_text="CSV (UTF-8) or Excel (.xlsx), up to 5 MB. The first row names the columns.",
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.xlsx,text/csv,"
                                               "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}),
    )
    default_program = forms.ModelChoiceField(
        queryset=Program.objects.none(),
        required=False,
        label="Default program",
        empty_label="None: every row names its program",
        help_text="Used for rows whose Program cell is empty.",
    )

    def __init__(self, *args, programs, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["default_program"].queryset = programs

    def clean_file(self):
        upload = self.cleaned_data["file"]
        try:
            importing.check_upload(upload.name, upload.size)
        except importing.ImportFileError as exc:
            raise forms.ValidationError(str(exc))
        return upload


# --- Care team ---------------------------------------------------------------------------

class AddMemberForm(forms.Form):
    staff = forms.ModelChoiceField(queryset=StaffMember.objects.none(), label="Staff member",
                                   error_messages={"invalid_choice": "Choose a colleague from the list.",
                                                   "required": "Choose a colleague to add."})

    def __init__(self, *args, patient: Patient, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["staff"].queryset = care_team.addable_staff(patient)


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


# --- Portal profile -----------------------------------------------------------------------

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
