"""Headless Chromium driven by selenium, for the console's browser tests.

Chromium and ChromeDriver are Debian's packages (``chromium``, ``chromium-driver``; ``make test``
installs them when missing): selenium is pointed at them explicitly, so Selenium Manager never
tries to download a browser. Every browser gets a fresh ``--user-data-dir`` and the flags this
machine needs (no background networking: its connections would be refused). Screenshots go to
``.artifacts/screenshots/`` (git-ignored), kept after the run.
"""

from __future__ import annotations

import os
import random
import shutil
import struct
import tempfile
import time
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = Path(os.environ.get("SHARECAST_SCREENSHOTS", ROOT / ".artifacts" / "screenshots"))
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
)


def chromium_missing() -> str | None:
    """Why the browser cannot start, or None."""
    for path in (CHROMIUM, CHROMEDRIVER):
        if not (shutil.which(path) or Path(path).exists()):
            return (
                f"{path} not found: install Debian's chromium and chromium-driver (make test does)"
            )
    return None


class Browser:
    """One Chromium with its own profile; ``shot(name)`` keeps a screenshot."""

    def __init__(self, base_url: str, test_name: str, *, width: int = 1280, height: int = 900):
        self.base_url = base_url
        self.test_name = test_name
        self.profile = tempfile.mkdtemp(prefix="sharecast-chromium-")
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for flag in FLAGS:
            options.add_argument(flag)
        options.add_argument(f"--user-data-dir={self.profile}")
        options.add_argument(f"--window-size={width},{height}")
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        self.driver: WebDriver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
        self.driver.set_page_load_timeout(60)
        self.driver.set_script_timeout(60)

    def close(self) -> None:
        """Quit Chromium and delete its profile."""
        try:
            self.driver.quit()
        finally:
            shutil.rmtree(self.profile, ignore_errors=True)

    # -- navigation and waiting --------------------------------------------------------------

    def open(self, path: str) -> None:
        """Load ``path`` of the console and wait until the app has booted."""
        self.driver.get(self.base_url + path)
        self.wait(lambda d: d.execute_script("return document.body.dataset.ready === 'true'"))

    def go(self, path: str) -> None:
        """Navigate inside the app (no reload: the stream stays open)."""
        self.js("window.sharecastConsole.navigate(arguments[0])", path)

    def wait(
        self, condition: Callable[[WebDriver], Any], timeout: float = 60, what: str = ""
    ) -> Any:
        """Poll ``condition`` until truthy (generous bound: a busy 2-core machine)."""
        try:
            return WebDriverWait(self.driver, timeout, poll_frequency=0.2).until(condition)
        except Exception as exc:
            self.shot("timeout")
            raise AssertionError(
                f"timed out after {timeout} s waiting for {what or condition}; "
                f"stream state {self.stream_state()}; console log {self.console_log()[-10:]}"
            ) from exc

    def wait_css(self, selector: str, timeout: float = 60) -> Any:
        """Wait for an element matching ``selector``; returns it."""
        return self.wait(
            lambda d: next(iter(d.find_elements(By.CSS_SELECTOR, selector)), None),
            timeout,
            what=selector,
        )

    def css(self, selector: str) -> list[Any]:
        """Elements matching ``selector`` now."""
        return self.driver.find_elements(By.CSS_SELECTOR, selector)

    def js(self, script: str, *args: Any) -> Any:
        """Run ``script`` in the page."""
        return self.driver.execute_script(script, *args)

    # -- the console ---------------------------------------------------------------------

    def sign_in(self, user: str, role: str = "user") -> None:
        """Sign in through the form and wait until the live stream is open."""
        self.open("/")
        form = self.wait_css("#signin")
        name = form.find_element(By.NAME, "user")
        name.clear()
        name.send_keys(user)
        form.find_element(By.CSS_SELECTOR, f"select[name=role] option[value={role}]").click()
        form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        self.wait_css("#post-list")  # the app navigated past the sign-in
        self.wait_live()

    def wait_live(self, timeout: float = 60) -> None:
        """Wait until the event stream is open."""
        self.wait(lambda d: self.stream_state().get("status") == "open", timeout, "stream open")

    def stream_state(self) -> dict[str, Any]:
        """The events client's state (status, mode, lastEventId, opens, reauths...)."""
        try:
            return self.js("return window.sharecastConsole?.streamState || {}") or {}
        except Exception:
            return {}

    def event_ids(self) -> list[str]:
        """Ids of every event the page received, in arrival order."""
        return self.js("return window.sharecastConsole.store.timeline.map(e => e.id)")

    def schema_mismatches(self) -> list[Any]:
        """Events that did not match /events.schema.json."""
        return self.js("return window.sharecastConsole.store.schemaMismatches")

    def console_log(self) -> list[str]:
        """Messages of the page's console (errors and warnings included)."""
        try:
            # Chromium's WebDriver keeps the page console as the "browser" log.
            entries = self.driver.get_log("browser")  # type: ignore[attr-defined]
            return [e["message"] for e in entries]
        except Exception:
            return []

    def shot(self, name: str) -> Path:
        """Save a PNG screenshot as ``{test}-{name}.png``; returns its path."""
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{self.test_name}-{name}.png"
        self.driver.save_screenshot(str(path))
        return path

    def phone(self, width: int = 390, height: int = 844) -> None:
        """Emulate a phone screen (CSS pixels, touch, device scale 3)."""
        self.driver.execute_cdp_cmd(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 3, "mobile": True},
        )


def png(width: int, height: int, seed: int = 1) -> bytes:
    """A valid RGB PNG of noise (incompressible, so its size is about ``3 * width * height``)."""
    rng = random.Random(seed)
    rows = b"".join(b"\x00" + rng.randbytes(width * 3) for _ in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows, 1))
        + chunk(b"IEND", b"")
    )


def wait_until(condition: Callable[[], Any], timeout: float = 60, what: str = "") -> Any:
    """Poll a Python condition (0.2 s) until truthy; AssertionError after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s: {what}")
        time.sleep(0.2)


def stored_events(user_id: str) -> dict[str, tuple[str, str]]:
    """Every event in the user's event log (what the relay replays from): id -> (type, status)."""
    from sharecast.clients import Clients
    from sharecast.config import Settings
    from sharecast.outbox import EVENTS, USERS

    db = Clients(Settings()).firestore
    docs = db.collection(USERS).document(user_id).collection(EVENTS).stream()
    return {
        s.id: (str(d.get("type")), str((d.get("data") or {}).get("status")))
        for s in docs
        if (d := s.to_dict() or {})
    }
