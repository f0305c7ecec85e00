"""Both attachment stores for tests: the database, and S3 served by a moto server process on a free port."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

STORES = ("db", "s3")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """Start ``python -m moto.server`` (an S3-compatible server) for the session; yield its URL."""
    port = _free_port()
    process = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    try:
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail("the moto S3 server did not start")
                time.sleep(0.1)  # waiting for a real server process to listen, not for a timer
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


def s3_settings(endpoint: str) -> dict[str, Any]:
    """Create a fresh bucket on the server and return the EngineConfig settings that store attachments in it."""
    import boto3

    bucket = f"bpm-test-{uuid.uuid4().hex[:12]}"
    settings = {"attachments_storage": "s3", "s3_endpoint_url": endpoint, "s3_bucket": bucket,
                "s3_region": "us-east-1", "s3_access_key_id": "test", "s3_secret_access_key": "test"}
    boto3.client("s3", endpoint_url=endpoint, region_name=settings["s3_region"],
                 aws_access_key_id=settings["s3_access_key_id"],
                 aws_secret_access_key=settings["s3_secret_access_key"]).create_bucket(Bucket=bucket)
    return settings


def store_settings(request: pytest.FixtureRequest) -> dict[str, Any]:
    """Return the config settings for the store a test is parametrised with ("db" or "s3")."""
    if request.param == "db":
        return {"attachments_storage": "db"}
    return s3_settings(request.getfixturevalue("s3_endpoint"))
