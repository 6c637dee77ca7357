"""Fixtures of the conformance suite.

- `moat_bin`: the server binary (`MOAT_BIN`, else `cargo build -p moat` in the repo root).
- `server`: one `moat serve` for the whole session, on a free port in a fresh data dir, with
  fixed account and root credentials; stopped (SIGTERM, wait) at the end.
- `iam`: a boto3 IAM client signed as root on that server.
- `names`: unique names per test so tests never collide on the shared server.
- `make_server`: fresh servers for tests that restart, kill or reconfigure one.
"""

from __future__ import annotations

import itertools
import secrets
from pathlib import Path

import pytest

from support import MoatServer, find_binary


@pytest.fixture(scope="session")
def moat_bin() -> Path:
    return find_binary()


@pytest.fixture(scope="session")
def server(moat_bin, tmp_path_factory):
    srv = MoatServer(moat_bin, tmp_path_factory.mktemp("shared") / "data")
    srv.start()
    yield srv
    srv.close()


@pytest.fixture(scope="session")
def iam(server):
    return server.client("iam")


@pytest.fixture
def aws(server):
    return server.aws


_run_id = secrets.token_hex(3)
_test_counter = itertools.count(1)


class Names:
    """`names("u")` -> a fresh name like `e2e1a2b3c-7-u1`; `names.path` -> `/e2e/<prefix>/`."""

    def __init__(self) -> None:
        self.prefix = f"e2e{_run_id}-{next(_test_counter)}"
        self.path = f"/e2e/{self.prefix}/"
        self._n = itertools.count(1)

    def __call__(self, label: str = "n") -> str:
        return f"{self.prefix}-{label}{next(self._n)}"


@pytest.fixture
def names() -> Names:
    return Names()


@pytest.fixture
def make_server(moat_bin, tmp_path):
    """Starts fresh servers (each in its own data dir unless `data_dir=` is given); all are
    stopped when the test ends."""
    started: list[MoatServer] = []
    counter = itertools.count(1)

    def make(*, data_dir: Path | None = None, start: bool = True, **kwargs) -> MoatServer:
        srv = MoatServer(moat_bin, data_dir or tmp_path / f"data{next(counter)}", **kwargs)
        started.append(srv)
        if start:
            srv.start()
        return srv

    yield make
    for srv in started:
        srv.close()


def pytest_runtest_makereport(item, call):
    # On failure, show the end of the shared server's log: the server's side of the story.
    if call.when == "call" and call.excinfo is not None:
        srv = item.funcargs.get("server") if hasattr(item, "funcargs") else None
        if isinstance(srv, MoatServer):
            item.add_report_section("call", "moat log (tail)", srv.log_tail(2000))
