from django import forms

from patients.models import Patient, PatientFlag

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
