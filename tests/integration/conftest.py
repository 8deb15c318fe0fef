import pytest

from tests.integration.harness import Platform, postgres_reachable

BACKENDS = ["sqlite", "postgresql"]


def _backend_param(name):
    # The PostgreSQL tier runs whenever a server is reachable (always on this machine and in CI).
    marks = [] if name == "sqlite" or postgres_reachable() else [
        pytest.mark.skip(reason="PostgreSQL is not reachable on 127.0.0.1:5432")]
    return pytest.param(name, marks=marks, id=name)


@pytest.fixture(scope="session", params=[_backend_param(b) for b in BACKENDS])
def backend(request):
    return request.param


@pytest.fixture(scope="session")
def platform(backend, tmp_path_factory):
    """The whole platform (7 services + gateway), one per database backend."""
    plat = Platform(tmp_path_factory.mktemp(f"platform-{backend}"), backend=backend)
    try:
        plat.start()
        yield plat
    finally:
        plat.destroy()
