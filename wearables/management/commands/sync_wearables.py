from django.core.management.base import BaseCommand, CommandError

from wearables import sync
from wearables.models import Connection, Provider, SyncLog


class Command(BaseCommand):
    help = ("Sync linked wearable connections now, synchronously (for operators). "
            "Without options: every linked connection.")

    def add_arguments(self, parser):
        parser.add_argument("--patient", help="Patient id (UUID) or MRN.")
        parser.add_argument("--provider", choices=[p for p, _ in Provider.choices])

    def handle(self, *args, patient=None, provider=None, **options):
        connections = Connection.objects.filter(status=Connection.Status.LINKED).select_related("patient")
        if patient:
            import uuid

            try:
                connections = connections.filter(patient_id=uuid.UUID(patient))
            except ValueError:
                connections = connections.filter(patient__mrn=patient)
        if provider:
            connections = connections.filter(provider=provider)
        connections = list(connections)
        if not connections:
            raise CommandError("No linked connection matches.")
        failed = 0
        for connection in connections:
            log = SyncLog.objects.create(project_id=connection.project_id, patient_id=connection.patient_id,
                                         connection=connection, source=connection.provider,
                                         trigger=SyncLog.Trigger.COMMAND)
            log = sync.run(log.pk)
            line = (f"{connection.patient.mrn or connection.patient_id} {connection.provider}: "
                    f"{log.get_status_display()}, {log.records} stored, {log.skipped} skipped")
            if log.error:
                line += f" ({log.error})"
            if log.status in (SyncLog.Status.SUCCESS, SyncLog.Status.PARTIAL):
                self.stdout.write(self.style.SUCCESS(line))
            else:
                failed += 1
                self.stdout.write(self.style.ERROR(line))
        if failed:
            raise CommandError(f"{failed} of {len(connections)} sync(s) failed.")
