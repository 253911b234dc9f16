"""`manage.py check_gate`: a views/API module that queries patient data around mahalo.access fails
the check with file:line and the model; the `# gate: <reason>` comment and the gate's own
entry points pass."""

import subprocess
import sys
import textwrap
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

ROOT = Path(__file__).resolve().parents[2]


def _module(tmp_path, source: str, name: str = "views.py") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(source))
    return path


def _run(*paths) -> str:
    out = StringIO()
    call_command("check_gate", *[str(p) for p in paths], stdout=out)
    return out.getvalue()


def _failure(*paths) -> str:
    out = StringIO()
    with pytest.raises(CommandError) as raised:
        call_command("check_gate", *[str(p) for p in paths], stdout=out)
    return out.getvalue() + str(raised.value)


def test_a_direct_query_fails_with_file_line_and_model(tmp_path):
    path = _module(tmp_path, """\
        from clinical.models import Observation


        def latest(request, patient):
            return Observation.objects.filter(patient=patient).first()
        """)
    report = _failure(path)
    assert f"{path}:5: Observation.objects" in report
    assert "clinical.Observation" in report
    assert "1 direct read(s)" in report


def test_the_exception_comment_passes(tmp_path):
    path = _module(tmp_path, """\
        from clinical.models import Observation


        def latest(request, patient):
            # The patient came from access.patient_for_request.
            return Observation.objects.filter(patient=patient).first()  # gate: filtered by a gated patient
        """)
    assert "The gate holds: 1 views/API modules scanned." in _run(path)


def test_the_exception_needs_a_reason_and_a_real_comment(tmp_path):
    bare = _module(tmp_path, """\
        from clinical.models import Observation

        rows = Observation.objects.all()  # gate:
        """, name="bare_views.py")
    in_string = _module(tmp_path, """\
        from clinical.models import Observation

        rows = (Observation.objects.all(), "# gate: not a comment")
        """, name="string_views.py")
    report = _failure(bare, in_string)
    assert f"{bare}:3:" in report and f"{in_string}:3:" in report


def test_the_gate_entry_point_passes(tmp_path):
    path = _module(tmp_path, """\
        from clinical.models import Alert
        from mahalo import access


        def queue(user):
            return access.scoped(user, Alert.objects.select_related("patient"), "clinical", "read")
        """)
    assert "The gate holds" in _run(path)


def test_404_loaders_aliases_and_function_level_imports_fail(tmp_path):
    path = _module(tmp_path, """\
        from django.shortcuts import get_object_or_404

        from messaging import models as messaging_models


        def thread(request, thread_id):
            return get_object_or_404(messaging_models.Thread, pk=thread_id)


        def attachment(request, attachment_id):
            from messaging.models import Attachment as Upload

            return Upload._default_manager.get(pk=attachment_id)


        def history(request):
            from clinical.models import Alert

            return Alert.history.all()
        """, name="thread_api.py")
    report = _failure(path)
    assert f"{path}:7: get_object_or_404(Thread)" in report and "messaging.Thread" in report
    assert f"{path}:13: Attachment._default_manager" in report and "messaging.Attachment" in report
    assert f"{path}:19: Alert.history" in report


def test_models_that_are_not_patient_data_pass(tmp_path):
    path = _module(tmp_path, """\
        from mahalo.models import StaffMember
        from patients.models import Program


        def programs():
            return list(Program.objects.all()), StaffMember.objects.count()
        """)
    assert "The gate holds" in _run(path)


def test_patient_data_is_computed_through_foreign_keys():
    out = StringIO()
    call_command("check_gate", "--list-models", stdout=out)
    owned = set(out.getvalue().split())
    # Directly (patient), through a thread (message), through a message (attachment), and history.
    assert {"patients.Patient", "clinical.Observation", "messaging.Thread", "messaging.Message",
            "messaging.Attachment", "clinical.HistoricalAlert"} <= owned
    assert not {"patients.Program", "mahalo.Project", "mahalo.StaffMember", "mahalo.Role"} & owned


def test_an_app_directory_scans_only_views_and_api_modules(tmp_path):
    app = tmp_path / "someapp"
    (app / "views").mkdir(parents=True)
    (app / "tests").mkdir()
    query = "from patients.models import Patient\n\nrows = Patient.objects.all()\n"
    for name in ("views/__init__.py", "views/chart.py", "services.py", "tests/test_views.py", "portal_pages.py"):
        (app / name).write_text(query)
    report = _failure(app)
    assert f"{app / 'views' / 'chart.py'}:3:" in report
    assert f"{app / 'views' / '__init__.py'}:3:" in report
    assert f"{app / 'portal_pages.py'}:3:" in report
    assert "services.py" not in report and "test_views.py" not in report
    assert "3 direct read(s)" in report


def test_the_command_exits_non_zero(tmp_path):
    path = _module(tmp_path, "from patients.models import Patient\n\nrows = Patient.objects.all()\n")
    done = subprocess.run([sys.executable, "manage.py", "check_gate", str(path)], cwd=ROOT,  # noqa: S603 - our manage.py
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 1
    assert f"{path}:3: Patient.objects" in done.stdout
