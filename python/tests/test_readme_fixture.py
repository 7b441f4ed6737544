"""python/README.md's "Testing your app against LocalStack": its conftest.py and test file, taken from
the page as they stand, run as a user's project runs them (a directory and a pytest of their own, none of
this suite's fixtures or environment) against the LocalStack this suite uses; then LocalStack holds
nothing under the prefix the fixture made, so its teardown deleted what the test saved (the token and its
lookup bridges). The page's snippet cannot rot unnoticed."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import boto3

README = Path(__file__).resolve().parents[1] / "README.md"
ROOT = Path(__file__).resolve().parents[2]

# A pytest plugin for the inner run: records the prefix of each store the page's fixture made, so this test
# can look in LocalStack afterwards. The page's code is not changed.
RECORDER = '''
import pytest


@pytest.hookimpl(wrapper=True)
def pytest_fixture_setup(fixturedef, request):
    value = yield
    if fixturedef.argname == "token_store":
        with open("prefixes.txt", "a") as f:
            f.write(value.prefix + "\\n")
    return value
'''


def block(first_line: str) -> str:
    """The README's one ```python block that begins with `first_line`."""
    blocks = re.findall(r"^```python\n(.*?)^```$", README.read_text(), re.S | re.M)
    found = [b for b in blocks if b.startswith(first_line + "\n")]
    assert len(found) == 1, f"python/README.md has {len(found)} python blocks beginning {first_line!r}"
    return found[0]


def test_the_readmes_localstack_fixture_runs_as_a_users_project_and_leaves_nothing(endpoint, tmp_path):
    (tmp_path / "conftest.py").write_text(block("# conftest.py"))
    (tmp_path / "test_app.py").write_text(block("# test_app.py"))
    (tmp_path / "record_prefixes.py").write_text(RECORDER)
    (tmp_path / "pytest.ini").write_text("[pytest]\n")  # the project's root: no setting of this suite's
    # None of this suite's AWS settings: the page's code must bring its own.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "ZOHO_TOKEN_STORE_"))}
    if endpoint == f"http://127.0.0.1:{os.environ.get('LOCALSTACK_PORT', '4566')}":
        env["LOCALSTACK_UP"] = str(ROOT / "localstack" / "up")  # the page's way from a clone (idempotent)
    else:
        env["AWS_ENDPOINT_URL"] = endpoint  # a LocalStack of one's own
    done = subprocess.run([sys.executable, "-m", "pytest", "-p", "record_prefixes", "-p", "no:cacheprovider"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"{done.stdout}\n{done.stderr}"
    assert "1 passed" in done.stdout, done.stdout
    [prefix] = (tmp_path / "prefixes.txt").read_text().split()

    aws = boto3.client("secretsmanager", endpoint_url=endpoint, region_name="us-east-1",
                       aws_access_key_id="test", aws_secret_access_key="test")

    def names() -> list[str]:
        pages = aws.get_paginator("list_secrets").paginate(
            Filters=[{"Key": "name", "Values": [prefix]}], IncludePlannedDeletion=True)
        return [s["Name"] for page in pages for s in page["SecretList"] if s["Name"].startswith(prefix)]

    assert names() == [], "the fixture's teardown (delete_tokens) left secrets behind"
    # The same look finds a secret that is there (so the empty answer above is not a blind one).
    aws.create_secret(Name=f"{prefix}control", SecretString="control")
    try:
        assert names() == [f"{prefix}control"]
    finally:
        aws.delete_secret(SecretId=f"{prefix}control", ForceDeleteWithoutRecovery=True)
