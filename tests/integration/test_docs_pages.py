"""/docs (Swagger UI) and /docs/events (the AsyncAPI React component) in a real headless browser (Debian's
chromium through playwright-core: tests/tools/asyncapi/browse.mjs, installed by `make test`): both render,
list every context, sign in through "Try it out" and call an operation with the token, and need no
network beyond the gateway (every request off loopback is recorded and refused)."""
from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from crm_kit.ops import catalogue as cat
from gateway.openapi import tags
from tests.contract.support import CATALOGUE
from tests.integration.harness import ADMIN_PASSWORD

# One backend is enough: what the pages show does not depend on the database.
pytestmark = [pytest.mark.integration, pytest.mark.parametrize("backend", ["sqlite"], indirect=True, scope="session")]

TOOLS = cat.REPO_ROOT / "tests" / "tools" / "asyncapi"
CHROMIUM = shutil.which("chromium")


@pytest.fixture(scope="module")
def pages(platform, tmp_path_factory):
    home = tmp_path_factory.mktemp("chromium-home")      # its profile and caches, not in the checkout
    node = shutil.which("node")
    assert node and CHROMIUM and (TOOLS / "node_modules" / "playwright-core").is_dir(), \
        "the browser tests need node, playwright-core and chromium: run `make test-tools`"
    result = subprocess.run([node, "browse.mjs", platform.base_url, "admin", ADMIN_PASSWORD], cwd=TOOLS,
                            env={"PATH": "/usr/bin:/bin", "CHROMIUM": CHROMIUM, "HOME": str(home)},
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout)


def test_the_pages_need_no_network_and_raise_no_error(pages):
    assert pages["offsite"] == []
    assert pages["page_errors"] == [] and pages["console_errors"] == []


def test_swagger_ui_lists_every_context_of_the_api(pages):
    docs = pages["docs"]
    assert docs["title"].startswith("CRM platform API")
    assert docs["errors"] == []
    assert docs["tags"] == [t["name"] for t in tags()]


def test_try_it_out_signs_in_and_calls_with_the_token(pages):
    docs = pages["docs"]
    assert docs["authorize_button"] == 1
    assert docs["sign_in_status"] == "200"
    assert docs["authorized"] == ["bearer"]
    assert docs["me_status"] == "200"


def test_the_events_page_lists_every_context_and_operation(pages):
    events = pages["events"]
    assert events["title"].startswith("CRM platform events")
    contexts = {e["producer"] for e in CATALOGUE["events"]} | {
        c["service"] for e in CATALOGUE["events"] for c in e["consumers"]}
    assert events["groups"] == sorted(contexts)
    assert events["send_operations"] == len(CATALOGUE["events"])
    assert events["receive_operations"] == sum(len(e["consumers"]) for e in CATALOGUE["events"])
    assert events["messages"] == len(CATALOGUE["events"])
