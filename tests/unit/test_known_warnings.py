"""`crm` processes start without the third-party warnings we know (crm_kit.ops.known_warnings): eventlet's
deprecation notice, printed once per process by `make run` before, is gone; without the filter it is there
(so this test can fail). In a subprocess: this one imported eventlet long ago."""
import subprocess
import sys

from crm_kit.config import REPO_ROOT

IMPORT_NAMEKO = "import nameko.extensions, eventlet; eventlet.monkey_patch()"


def run(code: str) -> str:
    return subprocess.run([sys.executable, "-W", "default", "-c", code], cwd=REPO_ROOT, capture_output=True,
                          text=True, timeout=60, env={"PYTHONPATH": str(REPO_ROOT), "PATH": "/usr/bin:/bin"}).stderr


def test_without_the_filter_eventlet_warns():
    assert "Eventlet is deprecated" in run(IMPORT_NAMEKO)


def test_a_crm_process_starts_without_it():
    code = "from crm_kit.ops.known_warnings import filter_known_warnings; filter_known_warnings(); " + IMPORT_NAMEKO
    assert run(code) == ""


def test_the_crm_command_filters_before_anything_imports_eventlet():
    code = ("import sys; from crm_kit.ops import cli; sys.argv = ['crm', 'jobs', 'list', '--help']\n"
            "try:\n    cli.main(['jobs', 'list', '--help'])\nexcept SystemExit:\n    pass\n" + IMPORT_NAMEKO)
    assert "Eventlet" not in run(code)
