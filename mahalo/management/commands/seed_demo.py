"""Demo tenants, programs, staff, patients. Idempotent: run it as often as you like.

Accounts (password: env MAHALO_DEMO_PASSWORD, default "mahalo-demo"):
  admin@demo.mahalo.health       superuser (platform operator)
  lead@demo.mahalo.health        Clinical Lead, global scope in Mahalo Demo
  cardio@demo.mahalo.health      Clinician, Cardiac Rehab only
  dietitian@demo.mahalo.health   Dietitian, Metabolic Health only
  patient@demo.mahalo.health     patient in Cardiac Rehab (portal login)
  outsider@other.mahalo.health   Administrator of Other Clinic
"""

import random
from datetime import date, timedelta

from allauth.account.models import EmailAddress
from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction

from mahalo import db
from mahalo.models import FeatureFlag, ProgramAssignment, ProgramSetting, Project, ProjectSetting, StaffMember, User
from mahalo.services import project_ensure_default_roles
from mahalo.signals import demo_seeded
from patients.care_team import care_team_add, care_team_request
from patients.models import Patient, PatientFlag, Program, ProgramEnrollment

FIRST = ["Leilani", "Kai", "Malia", "Keoni", "Noelani", "Makoa", "Aiko", "Hiro", "Maria", "José", "Grace",
         "Samuel", "Priya", "Arjun", "Mei", "Wei", "Fatima", "Omar", "Hannah", "Noah", "Olivia", "Ethan",
         "Amara", "Kwame", "Sofia", "Mateo", "Isabella", "Lucas", "Chloe", "Daniel", "Ava", "Elijah",
         "Mia", "James", "Luana", "Kaleo", "Emma", "Liam", "Nalani", "Ikaika"]
LAST = ["Kahananui", "Nakamura", "Santos", "Kealoha", "Tanaka", "Akana", "Reyes", "Chen", "Patel", "Kim",
        "Johnson", "Nguyen", "Williams", "Okafor", "Garcia", "Kapule", "Silva", "Ito", "Brown", "Mahoe",
        "Lopez", "Fernandez", "Hughes", "Alvarez", "Morita", "Pham", "Davis", "Kaʻaihue", "Wong", "Cruz"]
NICKNAMES = {"Samuel": "Sam", "Elijah": "Eli", "Isabella": "Bella", "Daniel": "Danny", "Keoni": "Kona",
             "Noelani": "Noe", "Ikaika": "Kaika", "Olivia": "Liv", "James": "Jim", "Leilani": "Lani"}
STREETS = ["Kapiolani Blvd", "King St", "Beretania St", "Kalakaua Ave", "Nuuanu Ave", "Waialae Ave",
           "Kamehameha Hwy", "Ala Moana Blvd", "Keeaumoku St", "Pali Hwy"]
CITIES = [("Honolulu", "HI", "968"), ("Kailua", "HI", "967"), ("Hilo", "HI", "967"), ("Kapolei", "HI", "967"),
          ("San Diego", "CA", "921"), ("Portland", "OR", "972")]


class Command(BaseCommand):
    help = "Create or refresh the demo tenants, programs, accounts and patients (idempotent)."

    def handle(self, *args, **options):
        password = settings.MAHALO_DEMO_PASSWORD
        with transaction.atomic():
            summary = seed(password)
        # Planner statistics for what was just loaded: the product must not wait for autovacuum.
        db.analyze_database()
        self.stdout.write(self.style.SUCCESS("Demo data ready."))
        self.stdout.write(
            f"Patients: {summary['patients']} in Mahalo Demo, {summary['other_patients']} in Other Clinic"
        )
        shown = password if password == "mahalo-demo" else "$MAHALO_DEMO_PASSWORD"  # noqa: S105
        self.stdout.write(f"Demo logins (password: {shown}):")
        for email, what in DEMO_ACCOUNTS:
            self.stdout.write(f"  {email:<32} {what}")


DEMO_ACCOUNTS = [
    ("admin@demo.mahalo.health", "superuser: every tenant, Django admin"),
    ("lead@demo.mahalo.health", "clinical lead: all of Mahalo Demo, audit log"),
    ("cardio@demo.mahalo.health", "clinician: Cardiac Rehab patients only"),
    ("dietitian@demo.mahalo.health", "dietitian: Metabolic Health patients only"),
    ("patient@demo.mahalo.health", "patient in Cardiac Rehab: the portal"),
    ("outsider@other.mahalo.health", "administrator of Other Clinic: nothing of Mahalo Demo"),
]


def _user(email, name, password, *, superuser=False, staff=False):
    user = User.objects.filter(email=email).first()
    if user is None:
        user = User(email=email)
    user.full_name = name
    user.is_active = True
    user.is_superuser = superuser
    user.is_staff = staff or superuser
    user.set_password(password)
    user.save()
    EmailAddress.objects.update_or_create(user=user, email=email, defaults={"verified": True, "primary": True})
    return user


def _staff(user, project, role, title, programs=()):
    member, _ = StaffMember.objects.update_or_create(
        user=user, defaults={"project": project, "role": role, "title": title, "is_active": True}
    )
    for program in programs:
        ProgramAssignment.objects.get_or_create(staff=member, program=program)
    return member


FLAG_CHANCES = {
    "Cardiac Rehab": {"POST_SURGICAL": 0.8, "RPM_ENROLLED": 0.6, "HIGH_RISK": 0.15, "FALL_RISK": 0.1},
    "Metabolic Health": {"DIABETES": 0.6, "RPM_ENROLLED": 0.4, "HIGH_RISK": 0.1, "NEEDS_INTERPRETER": 0.05},
    "General Practice": {"HIGH_RISK": 0.2},
}
SURGERIES = ["CABG x3", "CABG x2", "Aortic valve replacement", "Mitral valve repair", "PCI with stent"]


def _cardiac_fields(rng):
    resting = rng.randrange(58, 82)
    return {
        "surgery_date": date.today() - timedelta(days=rng.randrange(7, 120)),
        "surgery_type": rng.choice(SURGERIES),
        "current_stage": rng.choice(["Phase II: supervised outpatient", "Phase III: maintenance"]),
        "resting_heart_rate": resting, "target_heart_rate": resting + 30, "max_heart_rate": resting + 50,
        "bp_goal_systolic": 130, "bp_goal_diastolic": 80,
        "medication_allergies": rng.choice(["", "", "Penicillin", "Sulfa drugs"]),
        "chronic_conditions": rng.choice(["Hypertension", "Hypertension; hyperlipidemia", "Type 2 diabetes", ""]),
    }


def _metabolic_fields(rng):
    return {
        "weight_goal_kg": rng.randrange(60, 95),
        "chronic_conditions": rng.choice(["Type 2 diabetes", "Prediabetes", "Obesity; hypertension", ""]),
        "preferred_pharmacy": rng.choice(["Longs Drugs Kapahulu", "Times Pharmacy", "Walgreens Ala Moana"]),
    }


def _enroll(patient, program):
    """Keep one open enrollment matching the patient's program (idempotent)."""
    current = ProgramEnrollment.objects.filter(patient=patient, ended_at__isnull=True).first()
    if current is None or current.program_id != program.pk:
        if current:
            current.ended_at = current.started_at
            current.save(update_fields=["ended_at"])
        ProgramEnrollment.objects.create(patient=patient, program=program, reason="Enrolled (demo data)")


def _patients(project, programs_with_counts, rng, email_domain, mrn_prefix):
    made = 0
    statuses = ["active"] * 14 + ["paused"] * 2 + ["discharged"] * 2 + ["archived"]
    for program, count in programs_with_counts:
        for i in range(count):
            first = FIRST[rng.randrange(len(FIRST))]
            last = LAST[rng.randrange(len(LAST))]
            city, state, zip3 = CITIES[rng.randrange(len(CITIES))]
            email = f"{first.lower()}.{last.lower().replace('ʻ', '')}.{program.name[:1].lower()}{i}@{email_domain}"
            email = email.replace("é", "e")
            born = date(1942, 1, 1) + timedelta(days=rng.randrange(365 * 55))
            patient, _ = Patient.objects.update_or_create(
                project=project, mrn=f"{mrn_prefix}-{program.name[:1]}{i + 1:04d}",
                defaults={
                    "email": email,
                    "program": program,
                    "first_name": first,
                    "last_name": last,
                    "preferred_name": NICKNAMES.get(first, "") if rng.random() < 0.5 else "",
                    "date_of_birth": born,
                    "sex": rng.choice(["female", "male"]),
                    "phone": f"+1808555{rng.randrange(10000):04d}",
                    "preferred_contact_method": rng.choice(["phone", "email", "text", "portal"]),
                    "street_address": f"{rng.randrange(10, 3999)} {rng.choice(STREETS)}",
                    "city": city,
                    "state": state,
                    "postal_code": f"{zip3}{rng.randrange(100):02d}",
                    "country": "US",
                    "status": statuses[rng.randrange(len(statuses))],
                    "height_cm": rng.randrange(150, 195),
                    "emergency_contact_1_name": f"{rng.choice(FIRST)} {last}",
                    "emergency_contact_1_relationship": rng.choice(["Spouse", "Daughter", "Son", "Partner", "Sister"]),
                    "emergency_contact_1_phone": f"+1808555{rng.randrange(10000):04d}",
                    "insurance_provider": rng.choice(["HMSA", "Kaiser Permanente", "UnitedHealthcare", "Medicare"]),
                    "insurance_policy_number": f"P{rng.randrange(10**7):07d}",
                    **(_cardiac_fields(rng) if program.name == "Cardiac Rehab" else _metabolic_fields(rng)),
                },
            )
            _enroll(patient, program)
            flags = {f for f, chance in FLAG_CHANCES.get(program.name, {}).items() if rng.random() < chance}
            have = set(patient.flags.values_list("flag", flat=True))
            PatientFlag.objects.bulk_create([PatientFlag(patient=patient, flag=f) for f in flags - have])
            made += 1
    return made


def _notification_templates(project, cardiac):
    """Editable examples in admin: a project-wide email wording and a Cardiac Rehab override."""
    from messaging.models import NotificationTemplate

    NotificationTemplate.objects.get_or_create(
        project=project, program=None, event_type="new_message", channel="email",
        defaults={"subject": "New secure message from your care team",
                  "body": "Hello,\n\nYou have a new message from {{ sender_name|default:'your care team' }}. "
                          "Sign in to read it.\n\nMahalo Demo Health"})
    NotificationTemplate.objects.get_or_create(
        project=project, program=cardiac, event_type="visit_reminder", channel="email",
        defaults={"subject": "Cardiac rehab session reminder",
                  "body": "Aloha! Your cardiac rehab visit is {{ when|default:'coming up soon' }}. "
                          "Bring your heart-rate monitor and your medication list."})


def _demo_conversation(kai, cardio_staff):
    """A short exchange between Kai and his nurse, written once."""
    from messaging.threads import mark_read, message_send, thread_default_for

    thread = thread_default_for(patient=kai, staff=cardio_staff, actor=cardio_staff.user)
    if thread.messages.exists():
        return
    message_send(thread=thread, sender=kai.user, body="Hi Carl, my ankles were a bit swollen this morning. "
                 "Weight was 82.4 kg, up from 81.6 yesterday. Should I worry?")
    message_send(thread=thread, sender=cardio_staff.user, body="Thanks for telling me, Kai. Keep your legs raised "
                 "this afternoon and weigh yourself again tomorrow morning before breakfast. If you gain another "
                 "kilo or feel short of breath, call us right away. Low-sodium tips: https://www.heart.org/")
    mark_read(thread=thread, user=kai.user)
    message_send(thread=thread, sender=kai.user, body="Will do, thank you!")


def seed(password: str) -> dict:
    rng = random.Random(20261123)  # fixed: the same demo every time

    demo, _ = Project.objects.update_or_create(
        slug="mahalo-demo",
        defaults={"name": "Mahalo Demo", "brand_name": "Mahalo Demo Health", "brand_color": "#0f766e",
                  "support_email": "support@demo.mahalo.health"},
    )
    other, _ = Project.objects.update_or_create(
        slug="other-clinic",
        defaults={"name": "Other Clinic", "brand_name": "Other Clinic", "brand_color": "#7c3aed",
                  "support_email": "help@other.mahalo.health"},
    )
    cardiac, _ = Program.objects.update_or_create(
        project=demo, name="Cardiac Rehab",
        defaults={"timezone": "Pacific/Honolulu", "description": "Twelve-week post-surgery cardiac rehabilitation."},
    )
    metabolic, _ = Program.objects.update_or_create(
        project=demo, name="Metabolic Health",
        defaults={"timezone": "America/Los_Angeles", "description": "Diabetes and weight management coaching."},
    )
    general, _ = Program.objects.update_or_create(
        project=other, name="General Practice", defaults={"timezone": "America/Chicago"}
    )
    demo_roles = project_ensure_default_roles(project=demo)
    other_roles = project_ensure_default_roles(project=other)

    _user("admin@demo.mahalo.health", "Ada Admin", password, superuser=True)
    lead = _user("lead@demo.mahalo.health", "Leah Kalani", password, staff=True)
    _staff(lead, demo, demo_roles["Clinical Lead"], "MD")
    cardio = _user("cardio@demo.mahalo.health", "Carl Diaz", password, staff=True)
    _staff(cardio, demo, demo_roles["Clinician"], "RN", [cardiac])
    dietitian = _user("dietitian@demo.mahalo.health", "Dana Ito", password, staff=True)
    _staff(dietitian, demo, demo_roles["Dietitian"], "RD", [metabolic])
    outsider = _user("outsider@other.mahalo.health", "Oscar Other", password, staff=True)
    _staff(outsider, other, other_roles["Administrator"], "Practice manager")

    n_demo = _patients(demo, [(cardiac, 34), (metabolic, 30)], rng, "patients.demo.mahalo.health", "MD")
    n_other = _patients(other, [(general, 8)], rng, "patients.other.mahalo.health", "OC")

    portal_user = _user("patient@demo.mahalo.health", "Kai Kahananui", password)
    kai, _ = Patient.objects.update_or_create(
        project=demo, mrn="MD-KAI0001",
        defaults={"email": "patient@demo.mahalo.health", "program": cardiac, "user": portal_user,
                  "first_name": "Kai", "last_name": "Kahananui",
                  "date_of_birth": date(1961, 4, 18), "sex": "male", "phone": "+18085550142",
                  "preferred_contact_method": "portal", "street_address": "1200 Kapiolani Blvd",
                  "city": "Honolulu", "state": "HI", "postal_code": "96814", "country": "US",
                  "status": "active", "surgery_date": date.today() - timedelta(days=38),
                  "surgery_type": "CABG x3", "current_stage": "Phase II: supervised outpatient",
                  "resting_heart_rate": 68, "target_heart_rate": 105, "max_heart_rate": 125,
                  "bp_goal_systolic": 130, "bp_goal_diastolic": 80, "height_cm": 178,
                  "medication_allergies": "Penicillin (rash)", "chronic_conditions": "Hypertension; hyperlipidemia",
                  "emergency_contact_1_name": "Malia Kahananui", "emergency_contact_1_relationship": "Spouse",
                  "emergency_contact_1_phone": "+18085550143", "insurance_provider": "HMSA",
                  "preferred_pharmacy": "Longs Drugs Kapahulu"},
    )
    _enroll(kai, cardiac)
    for flag in ("POST_SURGICAL", "RPM_ENROLLED"):
        PatientFlag.objects.get_or_create(patient=kai, flag=flag)
    # The cardio clinician is on Kai's care team; Kai has asked the dietitian (another
    # program) to join, which she can accept from her care-team requests.
    lead_user = User.objects.get(email="lead@demo.mahalo.health")
    care_team_add(patient=kai, staff=StaffMember.objects.get(user=cardio), actor=lead_user, via="seed")
    care_team_request(patient=kai, staff=StaffMember.objects.get(user=dietitian), actor=portal_user,
                      note="I'd like help with my diet after surgery.", via="seed")

    _demo_conversation(kai, StaffMember.objects.get(user=cardio))
    _notification_templates(demo, cardiac)

    ProjectSetting.objects.update_or_create(project=demo, key="max_patients", defaults={"value": "500"})
    ProjectSetting.objects.update_or_create(project=demo, key="rules.hrv_drop_pct", defaults={"value": "25"})
    ProgramSetting.objects.update_or_create(program=cardiac, key="rules.hrv_drop_pct", defaults={"value": "20"})
    for name, on in [("food_tracking", True), ("telehealth", True), ("wearables", True)]:
        FeatureFlag.objects.update_or_create(project=demo, name=name, defaults={"enabled": on})
    FeatureFlag.objects.update_or_create(project=other, name="food_tracking", defaults={"enabled": False})
    from wearables.demo import seed_wearables

    seed_wearables(demo)
    from scheduling.demo import seed_scheduling

    seed_scheduling(demo=demo, cardiac=cardiac, metabolic=metabolic, kai=kai, cardio_user=cardio, lead_user=lead)
    from clinical.demo import seed_clinical

    seed_clinical()  # default rules for every program, demo readings, alerts
    from clinical.rpm_demo import seed_rpm

    seed_rpm(demo)  # RPM episodes and this month's logged time
    # Apps above the core add their demo data from a receiver (nutrition, assessments, care, ...).
    demo_seeded.send(sender=None, demo=demo, other=other, cardiac=cardiac, metabolic=metabolic, general=general,
                     kai=kai, lead=lead, cardio=cardio, dietitian=dietitian)
    return {"patients": n_demo + 1, "other_patients": n_other}
