from rest_framework import mixins, serializers

from mahalo.api import GatedViewSet
from patients.models import Patient, Program


class ProgramRefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Program
        fields = ["id", "name", "timezone"]


class PatientSerializer(serializers.ModelSerializer):
    program = ProgramRefSerializer(read_only=True)
    age = serializers.IntegerField(read_only=True, allow_null=True)

    class Meta:
        model = Patient
        fields = [
            "id", "mrn", "first_name", "last_name", "preferred_name", "date_of_birth", "age", "sex",
            "email", "phone", "preferred_contact_method", "street_address", "city", "state",
            "postal_code", "country", "program", "status", "created_at", "updated_at",
        ]


class PatientViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, GatedViewSet):
    """Patients the caller may see: a clinician's programs, a lead's project, a patient's own record."""

    model = Patient
    resource = "patients"
    serializer_class = PatientSerializer
    related = ("program",)
