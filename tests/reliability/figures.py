"""The fault-injection suite's figures, printed after the tests: every test in
tests/reliability/ is one injected fault, and a test that passes survived it.

tests/conftest.py imports these hooks: under pytest-xdist only the first conftest is loaded in
the process that prints, not this directory's. The rows lost and secrets leaked arrive in the
test reports (user_properties, see the `record` fixture), which the workers send to that process.
The summary is printed only when reliability tests ran, so `make test` shows it as well.
"""

from __future__ import annotations

_FIGURES = {"injected": 0, "survived": 0, "known_bugs": 0, "rows_lost": 0, "secrets_leaked": 0}
_HERE = "tests/reliability/"


def _ours(nodeid: str) -> bool:
    return nodeid.startswith(_HERE)


def pytest_runtest_logreport(report):
    if not _ours(report.nodeid):
        return
    # A fault counts once: at its call phase, or at setup when the fixture building it failed.
    if report.when == "call" or (report.when == "setup" and report.outcome != "passed"):
        _FIGURES["injected"] += 1
        if report.passed and not hasattr(report, "wasxfail"):
            _FIGURES["survived"] += 1
        elif hasattr(report, "wasxfail"):
            _FIGURES["known_bugs"] += 1
    if report.when == "teardown":
        for name, value in report.user_properties:
            if name in ("rows_lost", "secrets_leaked"):
                _FIGURES[name] += value


def pytest_terminal_summary(terminalreporter):
    if not _FIGURES["injected"]:
        return
    f = _FIGURES
    terminalreporter.write_sep("=", "reliability")
    terminalreporter.write_line(
        f"faults injected: {f['injected']}  survived: {f['survived']}  "
        f"known bugs (xfail): {f['known_bugs']}  rows lost: {f['rows_lost']}  "
        f"secrets leaked: {f['secrets_leaked']}"
    )
