"""Fixtures of the browser tests: a headless Chromium per test against the stack's console."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from tests.conftest import PORTS
from tests.support.browser import Browser, chromium_missing

CONSOLE = f"http://127.0.0.1:{PORTS.console}"


@pytest.fixture
def browser(request: pytest.FixtureRequest, clean_stack) -> Iterator[Callable[..., Browser]]:
    """Factory of browsers on the console (``browser()``, ``browser(width=..)``); every one is
    closed after the test, with a last screenshot when the test failed."""
    missing = chromium_missing()
    if missing:
        pytest.fail(missing)  # never a silent skip: make test installs them
    opened: list[Browser] = []

    def make(**size: int) -> Browser:
        instance = Browser(CONSOLE, f"{request.node.name}-{len(opened)}", **size)
        opened.append(instance)
        return instance

    yield make
    failed = getattr(request.node, "rep_call", None)
    for instance in opened:
        try:
            if failed is not None and failed.failed:
                instance.shot("failed")
        finally:
            instance.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    """Keep each phase's report on the item (the fixture above screenshots failures)."""
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report
