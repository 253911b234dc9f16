"""Messaging API, nested under a patient (staff within scope, or the patient themselves):

    GET  /api/v1/patients/<patient_pk>/threads/                      threads (with unread counts)
    POST /api/v1/patients/<patient_pk>/threads/                      {"subject", "body"} topic thread,
                                                                     or {"staff": <staff id>} the pair's default
    GET  /api/v1/patients/<patient_pk>/threads/<pk>/                 one thread
    GET  /api/v1/patients/<patient_pk>/threads/<pk>/messages/?after= messages (marks them delivered)
    POST /api/v1/patients/<patient_pk>/threads/<pk>/messages/        send: body and/or files (multipart)
    POST /api/v1/patients/<patient_pk>/threads/<pk>/read/            mark everything read
    POST .../threads/<pk>/messages/<message_pk>/edit/ {"body"}       the author edits an unread message
    POST .../threads/<pk>/messages/<message_pk>/delete/              the author retracts an unread message
                                                                     (POST like the pages: messaging:write)
    GET  .../threads/<pk>/messages/<message_pk>/record/              staff: earlier versions (audited)

Routes live in messaging/urls.py (under /api/v1/). Starting a conversation is
`threads.conversation_start`, the same service (and rule) as the portal and the compose page.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from mahalo import access, idempotency
from mahalo.api import GatedViewSet
from mahalo.models import StaffMember
from mahalo.safejson import BoundedJSONParser
from messaging import notifications, threads
from messaging.models import Message, Notification, Thread

IDEMPOTENCY_KEY = OpenApiParameter(
    idempotency.HEADER, str, OpenApiParameter.HEADER, required=False,
    description="Any unique string per intended create (at most 200 characters). A retry with the same key "
                "answers the first result (header Idempotent-Replayed: true) instead of creating again.")


class MessageBody(serializers.Serializer):
    body = serializers.CharField(required=False, allow_blank=True, default="", max_length=10_000)


class ThreadSerializer(serializers.ModelSerializer):
    unread = serializers.IntegerField(read_only=True, default=0)
    pair_staff_name = serializers.SerializerMethodField()

    class Meta:
        model = Thread
        fields = ["id", "patient", "kind", "subject", "pair_staff", "pair_staff_name", "assigned_to", "created_at",
                  "last_message_at", "unread"]
        read_only_fields = fields

    def get_pair_staff_name(self, obj) -> str | None:
        return obj.pair_staff.user.get_full_name() if obj.pair_staff_id else None


class ThreadCreateSerializer(serializers.Serializer):
    subject = serializers.CharField(max_length=200, required=False, allow_blank=True)
    body = serializers.CharField(max_length=10000, required=False, allow_blank=True)
    staff = serializers.UUIDField(required=False)


class MessageSerializer(serializers.ModelSerializer):
    sender_name = serializers.SerializerMethodField()
    body = serializers.SerializerMethodField()
    deleted = serializers.SerializerMethodField()
    attachments = serializers.SerializerMethodField()

    class Meta:
        model = Message
        fields = ["id", "sender", "sender_name", "sender_role", "kind", "body", "status", "created_at", "edited_at",
                  "deleted", "deleted_at", "attachments"]
        read_only_fields = fields

    def get_sender_name(self, obj) -> str:
        return obj.sender.get_full_name() if obj.sender_id else "System"

    def get_body(self, obj) -> str:
        return "" if obj.deleted_at else obj.body

    def get_deleted(self, obj) -> bool:
        return obj.deleted_at is not None

    def get_attachments(self, obj) -> list[dict]:
        if obj.deleted_at:
            return []
        return [{"id": str(a.pk), "name": a.original_name, "content_type": a.content_type, "size": a.size,
                 "url": reverse("message_attachment", args=[a.pk])} for a in obj.attachments.all()]


class ThreadViewSet(GatedViewSet):
    model = Thread
    resource = "messaging"
    serializer_class = ThreadSerializer
    related = ("pair_staff__user", "patient__project")
    patient_url_kwarg = "patient_pk"
    parser_classes = [BoundedJSONParser, MultiPartParser, FormParser]

    def list(self, request, *args, **kwargs):
        qs = threads.with_inbox_fields(self.filter_queryset(self.get_queryset()), request.user)
        page = self.paginate_queryset(qs.order_by("-last_message_at", "-created_at"))
        return self.get_paginated_response(ThreadSerializer(page, many=True).data)

    def retrieve(self, request, *args, **kwargs):
        return Response(ThreadSerializer(self.get_object()).data)

    @extend_schema(parameters=[IDEMPOTENCY_KEY])
    def create(self, request, *args, **kwargs):
        # A retried start (same Idempotency-Key) answers the first thread instead of a second one.
        return idempotency.once(request, "messaging.conversation_start", lambda: self._create(request))

    def _create(self, request):
        data = ThreadCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        patient = self._url_patient()
        staff = None
        if staff_id := data.validated_data.get("staff"):
            staff = StaffMember.objects.select_related("user").filter(pk=staff_id).first()
            if staff is None:
                raise serializers.ValidationError({"staff": "Not someone who can message this patient."})
        try:
            thread = threads.conversation_start(patient=patient, actor=request.user, staff=staff,
                                                subject=data.validated_data.get("subject", ""),
                                                body=data.validated_data.get("body", ""),
                                                files=request.FILES.getlist("files"), request=request)
        except DjangoPermissionDenied:
            return Response({"detail": "Your role does not allow this."}, status=status.HTTP_403_FORBIDDEN)
        return Response(ThreadSerializer(thread).data, status=status.HTTP_201_CREATED)

    @extend_schema(methods=["POST"], parameters=[IDEMPOTENCY_KEY])
    @action(detail=True, methods=["get", "post"])
    def messages(self, request, *args, **kwargs):
        thread = self.get_object()
        if request.method == "POST":
            # A retried send (same Idempotency-Key) answers the first message instead of a second one.
            return idempotency.once(request, "messaging.message_send", lambda: self._send(request, thread))
        qs = (Message.objects.filter(thread=thread)  # gate: thread from the gated get_object()
              .select_related("sender").prefetch_related("attachments"))
        after = request.query_params.get("after")
        if after:
            try:
                qs = threads.messages_after(qs, thread=thread, after=after)
            except ValueError as exc:
                raise serializers.ValidationError({"after": str(exc)}) from None
        threads.mark_delivered(thread=thread, user=request.user)
        rows = list(qs.order_by("created_at", "pk")[:500])
        return Response(MessageSerializer(rows, many=True).data)

    def _send(self, request, thread) -> Response:
        incoming = MessageBody(data=request.data if isinstance(request.data, dict) else {"body": None})
        incoming.is_valid(raise_exception=True)
        message = threads.message_send(thread=thread, sender=request.user, body=incoming.validated_data["body"],
                                       files=request.FILES.getlist("files"), request=request)
        return Response(MessageSerializer(message).data, status=status.HTTP_201_CREATED)

    def _my_message(self, request, message_pk) -> Message:
        thread = self.get_object()
        message = (Message.objects.filter(thread=thread, pk=message_pk)  # gate: thread from get_object()
                   .select_related("thread__patient").first())
        if message is None or not access.can(request.user, "messaging", "write", thread.patient):
            raise Http404
        return message

    def change_message(self, request, *args, message_pk=None, how="edit", **kwargs):
        """The same rule as the pages (threads.change_refusal): only the author, only unread."""
        message = self._my_message(request, message_pk)
        try:
            if how == "delete":
                threads.message_delete(message=message, user=request.user, request=request)
                return Response(status=status.HTTP_204_NO_CONTENT)
            incoming = MessageBody(data=request.data)
            incoming.is_valid(raise_exception=True)
            message = threads.message_edit(message=message, user=request.user, body=incoming.validated_data["body"],
                                           request=request)
        except PermissionDenied:
            raise Http404 from None
        except DjangoValidationError as exc:
            detail = exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages}
            raise serializers.ValidationError(detail) from None
        return Response(MessageSerializer(message).data)

    def message_record(self, request, *args, message_pk=None, **kwargs):
        thread = self.get_object()
        message = (Message.objects.filter(thread=thread, pk=message_pk)  # gate: thread from get_object()
                   .select_related("thread__patient").first())
        if message is None or not access.is_staff_user(request.user):
            raise Http404
        revisions = threads.message_record(message=message, user=request.user, request=request)
        return Response([{"action": r.action, "previous_body": r.previous_body, "at": r.at,
                          "by": r.by.get_full_name() or r.by.email} for r in revisions])

    @action(detail=True, methods=["post"])
    def read(self, request, *args, **kwargs):
        thread = self.get_object()
        threads.mark_read(thread=thread, user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)



# --- The user's own notifications (issue 18) ---------------------------------------------------
# GET  /api/v1/me/notifications/?unread=1    the notification centre (staff and patients alike)
# POST /api/v1/me/notifications/<pk>/read/   mark one read
# POST /api/v1/me/notifications/read-all/    mark all read
# Rows belong to one login (messaging.notifications.notifications_for): anyone else's is a 404.


class NotificationSerializer(serializers.ModelSerializer):
    read = serializers.SerializerMethodField()

    class Meta:
        model = Notification
        fields = ["id", "event_type", "subject", "body", "link", "urgent", "created_at", "seen_at", "read"]

    def get_read(self, obj) -> bool:
        return obj.seen_at is not None


class ReadAllSerializer(serializers.Serializer):
    marked = serializers.IntegerField()


@extend_schema_view(
    list=extend_schema(summary="My notifications, newest first",
                       parameters=[OpenApiParameter("unread", OpenApiTypes.BOOL, description="1: unread only")]),
)
class MyNotificationViewSet(mixins.ListModelMixin, GatedViewSet):
    model = Notification
    resource = "messaging"
    serializer_class = NotificationSerializer
    own_rows = staticmethod(notifications.notifications_for)

    def narrow(self, queryset):
        if self.request.query_params.get("unread") in ("1", "true"):
            queryset = queryset.filter(seen_at__isnull=True)
        return queryset.order_by("-created_at")

    @extend_schema(request=None, responses=NotificationSerializer, summary="Mark one of my notifications read")
    def read(self, request, *args, **kwargs):
        row = self.get_object()
        notifications.notification_mark_seen(notification=row)
        return Response(NotificationSerializer(row).data)

    @extend_schema(request=None, responses=ReadAllSerializer, summary="Mark all my notifications read")
    def read_all(self, request, *args, **kwargs):
        return Response({"marked": notifications.notifications_mark_all_seen(user=request.user)})
