"""Test set-up shared by every tier.

eventlet is patched here, before anything imports sockets, because the
integration tier runs nameko containers in the test process (nameko
recommends patching in conftest rather than in its pytest plugin).
"""
import warnings

warnings.filterwarnings("ignore", message=".*Eventlet is deprecated.*")

import eventlet  # noqa: E402

eventlet.monkey_patch()

from crm_kit.records.db import make_green  # noqa: E402

make_green()
