"""Deliverables in an S3-compatible bucket (MEDIA_STORAGE=s3), against a real S3 HTTP server on
this machine (moto's server in a thread): stored through django-storages, read back only
through the authorized download view as an attachment, nothing left behind by a failed
upload, and a clear message — not a 500 — when the storage does not answer or is misconfigured."""

import os
import socket
import subprocess
import sys

import boto3
import pytest
from botocore.config import Config
from django.core.files.uploadedfile import SimpleUploadedFile
from moto.server import ThreadedMotoServer

from closeloop.core.errors import Unavailable
from closeloop.review.models import Deliverable, Submission
from closeloop.review.tests.conftest import fresh
from closeloop.review.tests.test_review import PDF, pdf, submit
from closeloop.testing.clients import english_client

KEYS = {"aws_access_key_id": "closeloop-test", "aws_secret_access_key": "closeloop-test-secret"}


@pytest.fixture(scope="module")
def s3_endpoint():
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def storage_conf(endpoint: str, bucket: str) -> dict:
    """What settings.py builds from MEDIA_STORAGE=s3 and the AWS_* variables."""
    return {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": bucket,
            "endpoint_url": endpoint,
            "region_name": "us-east-1",
            "access_key": KEYS["aws_access_key_id"],
            "secret_key": KEYS["aws_secret_access_key"],
            "location": "closeloop",
            "addressing_style": "path",
            "signature_version": "s3v4",
            "default_acl": None,
            "file_overwrite": False,
            "max_memory_size": 2 * 1024 * 1024,
        },
    }


@pytest.fixture
def bucket(s3_endpoint, settings, request):
    name = f"deliverables-{abs(hash(request.node.name)) % 10**8}"
    client = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1", **KEYS)
    client.create_bucket(Bucket=name)
    settings.STORAGES = {**settings.STORAGES, "review": storage_conf(s3_endpoint, name)}

    def keys() -> list[str]:
        return [o["Key"] for o in client.list_objects_v2(Bucket=name).get("Contents", [])]

    yield keys
    for key in keys():
        client.delete_object(Bucket=name, Key=key)
    client.delete_bucket(Bucket=name)


def test_a_deliverable_goes_to_the_bucket_and_comes_back_only_through_the_authorized_download(
    measurable, member, head, outsider, bucket, media
):
    html = b"<!DOCTYPE html><html><script>alert(1)</script></html>"
    sub = submit(measurable, member, files=[pdf(), SimpleUploadedFile("报告.html", html)])
    stored = {d.name: d for d in Deliverable.objects.filter(submission=sub)}
    assert sorted(bucket()) == sorted(f"closeloop/{d.file.name}" for d in stored.values())
    assert not any(p.is_file() for p in media.rglob("*"))  # nothing on the local disk
    for name, data, content_type in (("报表.pdf", PDF, "application/pdf"), ("报告.html", html, None)):
        url = f"/deliverables/{stored[name].pk}/download/"
        for who in (member, head):
            r = english_client(who).get(url)
            assert r.status_code == 200  # streamed from here, never a redirect to the bucket
            assert r["Content-Disposition"].startswith("attachment")
            assert r["X-Content-Type-Options"] == "nosniff"
            assert r["Content-Type"] == (content_type or "application/octet-stream")
            assert b"".join(r.streaming_content) == data
        assert english_client(outsider).get(url).status_code == 404
    # The API's download is the same view.
    from closeloop.orgs.services import api_token_create

    token = api_token_create(actor=head, name="t")[1]
    from django.test import Client

    r = Client().get(
        f"/api/v1/deliverables/{stored['报表.pdf'].pk}/download", headers={"Authorization": f"Bearer {token}"}
    )
    assert r.status_code == 200 and r["Content-Disposition"].startswith("attachment")
    assert b"".join(r.streaming_content) == PDF


class BreaksWhileUploading(SimpleUploadedFile):
    """A file whose upload stops half-way (the connection from the browser dropped)."""

    def chunks(self, chunk_size=None):
        yield self.file.read(10)
        raise OSError("connection reset while uploading")

    def read(self, *args):
        data = super().read(*args)
        if self.file.tell() > 8192:
            raise OSError("connection reset while uploading")
        return data


def test_a_failed_upload_leaves_no_object_in_the_bucket(measurable, member, bucket):
    broken = BreaksWhileUploading("数据.csv", "区域,销售额\n".encode() * 2000, content_type="text/csv")
    with pytest.raises(Unavailable) as exc:
        submit(measurable, member, files=[pdf(), broken])
    assert "数据.csv" in exc.value.message and "files.2" in exc.value.fields
    assert bucket() == []  # the first file, already stored, was removed again
    assert not Submission.objects.exists() and fresh(measurable).status == "in_progress"


def test_a_storage_that_does_not_answer_is_a_clear_503_not_a_500(measurable, member, head, bucket, settings):
    sub = submit(measurable, member)
    d = Deliverable.objects.get(submission=sub)
    dead = f"http://127.0.0.1:{free_port()}"
    conf = storage_conf(dead, "nowhere")
    conf["OPTIONS"]["client_config"] = Config(connect_timeout=1, read_timeout=1, retries={"max_attempts": 1})
    settings.STORAGES = {**settings.STORAGES, "review": conf}
    r = english_client(head).get(f"/deliverables/{d.pk}/download/")
    assert r.status_code == 503 and "storage did not answer" in r.content.decode()
    other = fresh(measurable)
    from closeloop.tasks.services import task_transition
    from closeloop.testing.factories import make_task

    t = make_task(actor=head, department=other.department, owner=member, title="季度经营分析")
    t = task_transition(actor=member, task=t, to="in_progress")
    page = english_client(member).post(
        f"/tasks/{t.pk}/submit/", {"key_results": "完成", "files": [pdf()], "confirm": "1"}
    )
    assert page.status_code == 503
    assert "报表.pdf could not be stored" in page.content.decode()
    assert fresh(t).status == "in_progress"


def _deploy_check(tmp_path, **env) -> subprocess.CompletedProcess:
    environ = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AWS_", "MEDIA_", "DJANGO_SETTINGS", "DATABASE"))
    }
    environ.update(
        DJANGO_SETTINGS_MODULE="closeloop.settings",
        CLOSELOOP_VAR_DIR=str(tmp_path),
        CLOSELOOP_DEMO="0",
        DEBUG="0",
        SECRET_KEY="x" * 60,
        DATABASE_URL=f"sqlite:///{tmp_path / 'check.sqlite3'}",
        **env,
    )
    return subprocess.run(  # noqa: S603  (fixed argv)
        [sys.executable, "-m", "closeloop.manage", "check", "--deploy"],
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_bad_storage_configuration_says_what_is_wrong(tmp_path, s3_endpoint):
    s3 = {
        "MEDIA_STORAGE": "s3",
        "AWS_S3_ENDPOINT_URL": s3_endpoint,
        "AWS_S3_REGION_NAME": "us-east-1",
        "AWS_ACCESS_KEY_ID": KEYS["aws_access_key_id"],
        "AWS_SECRET_ACCESS_KEY": KEYS["aws_secret_access_key"],
        "AWS_S3_ADDRESSING_STYLE": "path",
    }
    missing = _deploy_check(tmp_path, **s3)  # no bucket named: refuses to start
    assert missing.returncode != 0 and "MEDIA_STORAGE=s3 needs AWS_STORAGE_BUCKET_NAME" in missing.stderr
    wrong = _deploy_check(tmp_path, MEDIA_STORAGE="ftp")
    assert wrong.returncode != 0 and "MEDIA_STORAGE='ftp': use 'local' (MEDIA_ROOT) or 's3'" in wrong.stderr
    absent = _deploy_check(tmp_path, **s3, AWS_STORAGE_BUCKET_NAME="no-such-bucket")
    assert "closeloop.E101" in absent.stderr and "'no-such-bucket'" in absent.stderr
    boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1", **KEYS).create_bucket(
        Bucket="present"
    )
    fine = _deploy_check(tmp_path, **s3, AWS_STORAGE_BUCKET_NAME="present")
    assert "closeloop.E101" not in fine.stderr + fine.stdout, fine.stderr
