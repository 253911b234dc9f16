"""Threads and messages: scoping, loading and the only writers.

Visibility: staff see a thread when its patient is in
`access.patients_for(user, "read", "messaging")`; a patient sees the threads
of their own record. Writing needs messaging:write on the patient. Staff join a
thread as participants when they open or reply to it; unread counts are per
participant (messages after their last_read_at, not their own).

Messages are records (issue 21 item 4). Once anyone but its author has read a
message (a read receipt, or a participant whose last_read_at reached it - staff who
join a thread later read it through the page), its author can no longer edit or
delete it: the clinician's advice below it must never end up under "Message
deleted". Before that, an edit or a delete (a retraction) keeps the earlier text in
a MessageRevision; everyone sees "edited" / "retracted", and staff may open the
earlier versions (`message_record`, audited as a read of the record). One rule,
`change_refusal`, serves the pages and the API.
"""

from __future__ import annotations

import uuid

from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count, Exists, IntegerField, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.http import Http404
from django.urls import reverse
from django.utils import timezone

from mahalo import access, audit, config
from messaging import attachments
from messaging.models import Attachment, Message, MessageReceipt, MessageRevision, Thread, ThreadParticipant
from messaging.notify import notify
from patients.care_team import care_team_for


def threads_for(user, action: str = "read") -> QuerySet[Thread]:
    """Every thread the user may see (or `action` on)."""
    if not getattr(user, "is_authenticated", False):
        return Thread.objects.none()
    if access.is_staff_user(user):
        return Thread.objects.filter(patient__in=access.patients_for(user, action, "messaging"))
    patient = access.patient_of(user)
    if patient is None or not access.can(user, "messaging", action):
        return Thread.objects.none()
    return Thread.objects.filter(patient=patient)


def role_of(user) -> str:
    return ThreadParticipant.Role.STAFF if access.is_staff_user(user) else ThreadParticipant.Role.PATIENT


def join(thread: Thread, user) -> ThreadParticipant:
    participant, _ = ThreadParticipant.objects.get_or_create(thread=thread, user=user,
                                                             defaults={"role": role_of(user)})
    return participant


def thread_url(thread: Thread, user) -> str:
    name = "message_thread" if access.is_staff_user(user) else "portal_message_thread"
    return reverse(name, args=[thread.pk])


@transaction.atomic
def thread_default_for(*, patient, staff, actor) -> Thread:
    """The one conversation of a patient and a clinician (created on first use)."""
    thread, created = Thread.objects.get_or_create(
        patient=patient, pair_staff=staff, kind=Thread.Kind.DEFAULT,
        defaults={"project": patient.project, "program": patient.program, "created_by": actor,
                  "assigned_to": staff},
    )
    if created:
        if patient.user_id:
            ThreadParticipant.objects.get_or_create(thread=thread, user=patient.user,
                                                    defaults={"role": ThreadParticipant.Role.PATIENT})
        ThreadParticipant.objects.get_or_create(thread=thread, user=staff.user,
                                                defaults={"role": ThreadParticipant.Role.STAFF})
        audit.record(action="write", actor=actor, resource="messaging", patient=patient, object_id=thread.pk,
                     metadata={"event": "thread_created", "kind": "default"})
    return thread


@transaction.atomic
def thread_create(*, patient, subject: str, actor, staff_members=()) -> Thread:
    """A topic thread: the patient, the actor (staff), the active care team and chosen staff."""
    subject = (subject or "").strip()
    if not subject:
        raise ValidationError({"subject": "Give the conversation a subject."})
    if not access.can(actor, "messaging", "write", patient):
        raise PermissionDenied
    actor_staff = access.staff_of(actor)
    thread = Thread.objects.create(project=patient.project, patient=patient, program=patient.program,
                                   kind=Thread.Kind.TOPIC, subject=subject[:200], created_by=actor,
                                   assigned_to=actor_staff)
    users = {}
    if patient.user_id:
        users[patient.user_id] = ThreadParticipant.Role.PATIENT
    if actor_staff:
        users[actor.pk] = ThreadParticipant.Role.STAFF
    for link in care_team_for(patient):
        users.setdefault(link.staff.user_id, ThreadParticipant.Role.STAFF)
    for staff in staff_members:
        if staff.project_id == patient.project_id:
            users.setdefault(staff.user_id, ThreadParticipant.Role.STAFF)
    ThreadParticipant.objects.bulk_create([ThreadParticipant(thread=thread, user_id=u, role=r)
                                           for u, r in users.items()])
    audit.record(action="write", actor=actor, resource="messaging", patient=patient, object_id=thread.pk,
                 metadata={"event": "thread_created", "kind": "topic"})
    return thread


@transaction.atomic
def message_send(*, thread: Thread, sender, body: str, files=(), request=None) -> Message:
    body = (body or "").replace("\r\n", "\n").strip()
    if not access.can(sender, "messaging", "write", thread.patient):
        raise PermissionDenied
    if any(files) and not config.feature_on(thread.patient.project, config.MESSAGE_ATTACHMENTS, cache=sender):
        raise ValidationError("Attachments are switched off for your organisation: send the message without files.")
    validated = attachments.validate(files)
    if not body and not validated:
        raise ValidationError({"body": "Write a message or attach a file."})
    if len(body) > 10000:
        raise ValidationError({"body": "Keep a message under 10,000 characters."})
    kind = Message.Kind.MIXED if body and validated else (Message.Kind.FILE if validated else Message.Kind.TEXT)
    now = timezone.now()
    sender_participant = join(thread, sender)
    message = Message.objects.create(thread=thread, sender=sender, sender_role=sender_participant.role, kind=kind,
                                     body=body, created_at=now)
    for upload, content_type, ext in validated:
        attachments.store(message=message, upload=upload, content_type=content_type, ext=ext, user=sender)
    recipients = list(ThreadParticipant.objects.filter(thread=thread).exclude(user=sender)
                      .select_related("user"))
    MessageReceipt.objects.bulk_create([MessageReceipt(message=message, user_id=p.user_id) for p in recipients])
    forget_unread([sender.pk, *(p.user_id for p in recipients)])
    Thread.objects.filter(pk=thread.pk).update(last_message_at=now)
    thread.last_message_at = now
    ThreadParticipant.objects.filter(pk=sender_participant.pk).update(last_read_at=now)
    audit.record(action="write", request=request, actor=sender, resource="messaging", patient=thread.patient,
                 object_id=message.pk, metadata={"thread": str(thread.pk), "kind": kind,
                                                 "attachments": len(validated)})
    # Only people who may still read this patient hear about it (a participant moved
    # off the program keeps the row but not the access).
    allowed = [p.user for p in recipients if access.can(p.user, "messaging", "read", thread.patient)]
    if allowed:
        link = reverse("message_thread", args=[thread.pk])
        notify(event_type="new_message", recipients=allowed, patient=thread.patient,
               project=thread.project, program=thread.program,
               context={"thread": thread, "sender": sender.get_full_name(), "sender_name": sender.get_full_name(),
                        "subject": thread.subject, "link": link},
               key=f"message:{message.pk}", link=link)
    return message


@transaction.atomic
def system_post(*, thread: Thread, body: str, now=None) -> Message:
    """A line the system writes into a thread (a call started, missed, ended): no sender and no
    notification of its own (the event that caused it notifies). Callers post once per event
    (the call's status change under a row lock decides that)."""
    now = now or timezone.now()
    body = body.strip()[:1000]
    message = Message.objects.create(thread=thread, sender=None, sender_role="system", kind=Message.Kind.SYSTEM,
                                     body=body, created_at=now)
    Thread.objects.filter(pk=thread.pk).update(last_message_at=now)
    thread.last_message_at = now
    forget_unread(list(ThreadParticipant.objects.filter(thread=thread).values_list("user_id", flat=True)))
    return message


def read_by_others(message: Message) -> bool:
    """Has anyone other than the author read this message?"""
    receipts = MessageReceipt.objects.filter(message=message, read_at__isnull=False).exclude(user_id=message.sender_id)
    readers = ThreadParticipant.objects.filter(thread_id=message.thread_id,
                                               last_read_at__gte=message.created_at).exclude(user_id=message.sender_id)
    return receipts.exists() or readers.exists()


READ_REFUSAL = ("This message has been read, so it is part of the record and can't be changed. "
                "Send a new message to correct it.")


def change_refusal(message: Message, user) -> str | None:
    """Why `user` may not edit or delete `message` now (None: they may). The one rule for
    pages and API. Not the author: PermissionDenied (callers answer 404)."""
    if message.sender_id != user.pk or message.sender_role == "system":
        raise PermissionDenied("Only the sender can change a message.")
    if message.deleted_at:
        return "This message was retracted."
    if read_by_others(message):
        return READ_REFUSAL
    return None


def _own_message(message: Message, user) -> Message:
    """Lock the row, then apply the rule: a read racing an edit either sees the old text
    (and the edit is refused afterwards) or the new one, never a change it didn't see."""
    message = Message.objects.select_for_update().select_related("thread__patient").get(pk=message.pk)
    refusal = change_refusal(message, user)
    if refusal:
        raise ValidationError(refusal)
    return message


def decorate_record(rows: list[Message], user) -> list[Message]:
    """Per message: read_by_others, can_change (for its author) and, for staff, how many
    earlier versions it has. Two queries for the whole thread; receipts prefetched."""
    reads: dict = {}
    for thread_id, uid, at in ThreadParticipant.objects.filter(
            thread_id__in={m.thread_id for m in rows}, last_read_at__isnull=False).values_list(
            "thread_id", "user_id", "last_read_at"):
        reads.setdefault(thread_id, {})[uid] = at
    staff = access.is_staff_user(user)
    revisions: dict = {}
    if staff:
        changed = [m.pk for m in rows if m.edited_at or m.deleted_at]
        for message_id in (MessageRevision.objects.filter(message_id__in=changed).values_list("message_id", flat=True)
                           if changed else []):
            revisions.setdefault(message_id, []).append(message_id)
    for m in rows:
        m.read_by_others = any(r.read_at and r.user_id != m.sender_id for r in m.receipts.all()) or any(
            at >= m.created_at for uid, at in reads.get(m.thread_id, {}).items() if uid != m.sender_id)
        m.can_change = (m.sender_id == user.pk and m.sender_role != "system" and not m.deleted_at
                        and not m.read_by_others)
        m.revision_count = len(revisions.get(m.pk, [])) if staff else 0
    return rows


def message_record(*, message: Message, user, request=None) -> list[MessageRevision]:
    """Earlier versions of a message (edits, retracted text), for staff who may read the
    thread. Audited: the record is read on purpose, not shown in passing."""
    if not access.is_staff_user(user):
        raise PermissionDenied("Only the care team sees a message's earlier versions.")
    revisions = list(MessageRevision.objects.filter(message=message).select_related("by").order_by("at"))
    audit.record(action="read", request=request, actor=user, resource="messaging",
                 patient=message.thread.patient, object_id=message.pk,
                 metadata={"event": "message_record_read", "thread": str(message.thread_id),
                           "revisions": len(revisions), "retracted": bool(message.deleted_at)})
    return revisions


@transaction.atomic
def message_edit(*, message: Message, user, body: str, request=None) -> Message:
    """The author changes an unread message; the earlier text stays as a revision."""
    message = _own_message(message, user)
    body = (body or "").replace("\r\n", "\n").strip()
    if not body and not message.attachments.exists():
        raise ValidationError({"body": "A message can't be empty; delete it instead."})
    if body == message.body:
        return message
    MessageRevision.objects.create(message=message, action="edit", previous_body=message.body, by=user)
    message.body = body
    message.edited_at = timezone.now()
    message.save(update_fields=["body", "edited_at"])
    audit.record(action="update", request=request, actor=user, resource="messaging",
                 patient=message.thread.patient, object_id=message.pk, metadata={"thread": str(message.thread_id)})
    return message


@transaction.atomic
def message_delete(*, message: Message, user, request=None) -> Message:
    """The author retracts an unread message: hidden from everyone, the text stays in a
    MessageRevision that staff can open (audited)."""
    message = _own_message(message, user)
    MessageRevision.objects.create(message=message, action="delete", previous_body=message.body, by=user)
    message.body = ""
    message.deleted_at = timezone.now()
    message.save(update_fields=["body", "deleted_at"])
    audit.record(action="delete", request=request, actor=user, resource="messaging",
                 patient=message.thread.patient, object_id=message.pk, metadata={"thread": str(message.thread_id)})
    return message


def _roll_up(thread: Thread) -> None:
    """Message.status from the receipts: delivered / read once every recipient is."""
    open_read = MessageReceipt.objects.filter(message=OuterRef("pk"), read_at__isnull=True)
    open_delivered = MessageReceipt.objects.filter(message=OuterRef("pk"), delivered_at__isnull=True)
    pending = Message.objects.filter(thread=thread).exclude(status=Message.Status.READ)
    pending.filter(~Exists(open_read)).update(status=Message.Status.READ)
    pending.filter(status=Message.Status.SENT).filter(~Exists(open_delivered)).update(
        status=Message.Status.DELIVERED)


@transaction.atomic
def mark_delivered(*, thread: Thread, user) -> None:
    now = timezone.now()
    n = MessageReceipt.objects.filter(message__thread=thread, user=user, delivered_at__isnull=True).update(
        delivered_at=now)
    if n:
        _roll_up(thread)


@transaction.atomic
def mark_read(*, thread: Thread, user) -> None:
    """The user has seen everything in the thread up to now."""
    now = timezone.now()
    participant = join(thread, user) if access.is_staff_user(user) else (
        ThreadParticipant.objects.filter(thread=thread, user=user).first() or join(thread, user))
    ThreadParticipant.objects.filter(pk=participant.pk).update(last_read_at=now)
    forget_unread([user.pk])
    receipts = MessageReceipt.objects.filter(message__thread=thread, user=user)
    receipts.filter(delivered_at__isnull=True).update(delivered_at=now)
    changed = receipts.filter(read_at__isnull=True).update(read_at=now)
    if changed:
        _roll_up(thread)


def _unread_messages(user):
    member = ThreadParticipant.objects.filter(thread=OuterRef("thread"), user=user).filter(
        Q(last_read_at__isnull=True) | Q(last_read_at__lt=OuterRef("created_at")))
    return Message.objects.filter(Exists(member)).exclude(sender=user)


def _unread_key(user_id) -> str:
    return f"messaging:unread:{user_id}"


def forget_unread(user_ids) -> None:
    """Drop cached badge counts (a message arrived, or was read): now, and again once the
    transaction commits, so a request in between can't re-cache the old count for long."""
    keys = [_unread_key(pk) for pk in user_ids]
    cache.delete_many(keys)
    transaction.on_commit(lambda: cache.delete_many(keys))


def inbox_version(user) -> str:
    """Changes whenever the user's inbox list would: a message arrives (newest activity) or
    they read one (unread count). The inbox's poll sends it back; equal means "no change"."""
    from django.db.models import Max

    newest = threads_for(user).aggregate(newest=Max("last_message_at"))["newest"]
    return f"{newest.timestamp() if newest else 0:.0f}-{unread_count(user)}"


def unread_count(user) -> int:
    """Unread messages for the navigation badge, shown on every page: one query, then
    cached until a message arrives for the user or they read one (at most a minute)."""
    if not getattr(user, "is_authenticated", False):
        return 0
    key = _unread_key(user.pk)
    value = cache.get(key)
    if value is None:
        value = _unread_messages(user).filter(thread__in=threads_for(user).values("pk")).count()
        cache.set(key, value, 60)
    return value


def with_inbox_fields(qs: QuerySet[Thread], user) -> QuerySet[Thread]:
    """Annotate unread (for this user), last message preview and whether the user takes part."""
    unread = (_unread_messages(user).filter(thread=OuterRef("pk")).order_by().values("thread")
              .annotate(c=Count("pk")).values("c"))
    last = Message.objects.filter(thread=OuterRef("pk")).order_by("-created_at")
    return qs.annotate(
        unread=Coalesce(Subquery(unread, output_field=IntegerField()), Value(0)),
        last_body=Subquery(last.values("body")[:1]),
        last_deleted=Subquery(last.values("deleted_at")[:1]),
        last_kind=Subquery(last.values("kind")[:1]),
        last_sender_role=Subquery(last.values("sender_role")[:1]),
    ).select_related("patient__program", "pair_staff__user", "assigned_to__user")


def is_uuid(value) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True


def messages_after(qs: QuerySet[Message], *, thread: Thread, after: str) -> QuerySet[Message]:
    """Narrow `qs` to messages newer than message `after` of this thread (the poller and the
    API's ?after=). ValueError when `after` is not a message of this thread."""
    anchor = Message.objects.filter(thread=thread, pk=after).values("created_at").first() if is_uuid(after) else None
    if anchor is None:
        raise ValueError("Not a message of this thread.")
    return qs.filter(created_at__gt=anchor["created_at"]).exclude(pk=after)


def search_messages(*, user, patient, q: str, limit: int = 50) -> list[Message]:
    q = (q or "").strip()
    if not q:
        return []
    return list(
        Message.objects.filter(thread__in=threads_for(user).filter(patient=patient).values("pk"),
                               deleted_at__isnull=True, body__icontains=q)
        .select_related("thread", "sender").order_by("-created_at")[:limit]
    )


# --- Loading through the gate, and starting a conversation (one rule for pages and API) ----------

def thread_load(request, thread_id, action: str = "read", *, audit_read: bool = True) -> Thread:
    """One thread the user may `action` on its patient's messages, through `access.load`:
    404 for missing, malformed and forbidden alike; the read (or the denial) is audited."""
    queryset = Thread.objects.select_related("patient__program", "patient__project", "project", "pair_staff__user")
    return access.load(request, queryset, thread_id, resource="messaging", action=action, audit_read=audit_read)


def own_message_load(request, message_id) -> Message:
    """A message the user sent, in a thread they may still write to; 404 otherwise (the gate
    decides before the row is looked at: someone else's message is simply not found)."""
    message = access.load(request, Message.objects.select_related("thread__patient__program", "thread__project"),
                          message_id, resource="messaging", action="write", via="thread__patient")
    if message.sender_id != request.user.pk:
        raise Http404("No such message.")
    return message


def attachment_load(request, attachment_id) -> Attachment:
    """An attachment of a message the user may read, not deleted; 404 otherwise. The caller
    audits the download (with its name and checksum)."""
    attachment = access.load(request, Attachment.objects.select_related("message__thread__patient"), attachment_id,
                             resource="messaging", via="message__thread__patient", audit_read=False)
    if attachment.message.deleted_at:
        raise Http404("No such attachment.")
    return attachment


def may_converse_with(*, patient, actor, staff) -> bool:
    """Whom a one-to-one conversation about `patient` may be started with.

    A patient: only a member of their active care team (the portal lists exactly those; the
    API used to accept any clinician who could read the record, issue 12 item 9). Staff: an
    active colleague of the patient's tenant whose role can read the patient's messages."""
    if staff is None or not staff.is_active or staff.project_id != patient.project_id:
        return False
    if not access.is_staff_user(actor):
        return care_team_for(patient).filter(staff=staff).exists()
    return access.can(staff.user, "messaging", "read", patient)


@transaction.atomic
def conversation_start(*, patient, actor, staff=None, subject: str = "", body: str = "", files=(),
                       request=None) -> Thread:
    """Start a conversation about `patient` and post its first message, all or nothing.

    With `staff`: the patient's default conversation with that clinician (reused if it exists;
    see `may_converse_with` for who qualifies). Without: a topic thread named `subject` (the
    patient, the actor and the care team take part). The first message (`body` and/or `files`)
    is validated in the same transaction, so a refused attachment leaves no empty thread.
    The portal, the staff compose page and the API all call this. Raises PermissionDenied when
    the actor may not write to the patient, ValidationError for a bad counterpart, subject or
    message."""
    if not access.can(actor, "messaging", "write", patient):
        raise PermissionDenied("Your role does not allow starting conversations.")
    if staff is not None:
        if not may_converse_with(patient=patient, actor=actor, staff=staff):
            raise ValidationError({"staff": "Not someone you can start a conversation with about this patient."})
        thread = thread_default_for(patient=patient, staff=staff, actor=actor)
    else:
        thread = thread_create(patient=patient, subject=subject, actor=actor)
    if (body or "").strip() or files:
        message_send(thread=thread, sender=actor, body=body, files=files, request=request)
    return thread
