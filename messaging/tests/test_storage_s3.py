"""Attachments through S3-compatible storage: a local moto S3 server on 127.0.0.1
speaks the real S3 protocol; django-storages talks to it as it would to AWS or MinIO."""

import io
import socket

import pytest

from mahalo.models import StaffMember
from messaging import threads
from messaging.models import Attachment

pytestmark = pytest.mark.django_db


@pytest.fixture
def s3(settings, monkeypatch):
    from moto.server import ThreadedMotoServer

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    for key, value in {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
                       "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(key, value)
    import boto3

    client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
    client.create_bucket(Bucket="mahalo-test")
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": {
            "bucket_name": "mahalo-test", "endpoint_url": endpoint, "region_name": "us-east-1",
            "access_key": "test", "secret_key": "test", "default_acl": "private", "file_overwrite": False}},
    }
    try:
        yield client
    finally:
        server.stop()


def png() -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (4, 4), (200, 30, 30)).save(buf, format="PNG")
    return buf.getvalue()


def test_attachment_is_stored_in_the_bucket_and_served_only_through_the_gate(s3, login, world):
    from django.core.files.uploadedfile import SimpleUploadedFile

    thread = threads.thread_default_for(patient=world.me, staff=StaffMember.objects.get(user=world.clinician),
                                        actor=world.clinician)
    data = png()
    response = login(world.patient_user).post(
        f"/messages/{thread.pk}/send/",
        {"body": "Photo of the wound", "files": [SimpleUploadedFile("wound.png", data, content_type="image/png")]},
    )
    assert response.status_code in (302, 200)
    attachment = Attachment.objects.get(message__thread=thread)
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="mahalo-test").get("Contents", [])]
    assert attachment.file.name in keys
    assert s3.get_object(Bucket="mahalo-test", Key=attachment.file.name)["Body"].read() == data

    download = login(world.clinician).get(f"/messages/attachments/{attachment.pk}/")
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == data
    assert download["Content-Disposition"].startswith("attachment")
    # Another program's clinician: the object exists, the gate still says 404.
    assert login(world.other_clinician).get(f"/messages/attachments/{attachment.pk}/").status_code == 404
