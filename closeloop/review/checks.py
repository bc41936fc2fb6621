"""`closeloop check --deploy`: the deliverable storage answers. A wrong endpoint, refused keys
or a missing bucket would otherwise show only when someone first submits a file (as a clear
503 then, but too late); the check says which setting to look at before anyone does."""

from django.conf import settings
from django.core.checks import Error, Tags, register

from closeloop.review.files import STORAGE_ERRORS


@register(Tags.compatibility, deploy=True)
def deliverable_storage_reachable(app_configs, **kwargs) -> list[Error]:
    """With MEDIA_STORAGE=s3, one HEAD request on the bucket (AWS_STORAGE_BUCKET_NAME at
    AWS_S3_ENDPOINT_URL with the configured keys); Error closeloop.E101 naming what failed.
    The local folder needs no check here (MEDIA_ROOT is created on first upload)."""
    if "review" not in settings.STORAGES:
        return []
    from closeloop.review.models import deliverable_storage

    storage = deliverable_storage()
    bucket = getattr(storage, "bucket_name", None)
    if not bucket:
        return []
    endpoint = getattr(storage, "endpoint_url", None) or "AWS"
    try:
        storage.connection.meta.client.head_bucket(Bucket=bucket)
    except STORAGE_ERRORS as exc:
        return [
            Error(
                f"Deliverable storage: bucket {bucket!r} at {endpoint} cannot be reached: {exc}",
                hint="Check AWS_S3_ENDPOINT_URL, AWS_STORAGE_BUCKET_NAME, AWS_ACCESS_KEY_ID / "
                "AWS_SECRET_ACCESS_KEY and AWS_S3_REGION_NAME (README, Configuration), and that "
                "the bucket exists.",
                id="closeloop.E101",
            )
        ]
    return []
