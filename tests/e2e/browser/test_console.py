"""The console in headless Chromium against the whole stack (issue 18 item 8).

Each test signs in through the console's form, acts as a person would (typing, clicking,
choosing a file) and waits on conditions in the page; the page's own state
(``window.sharecastConsole``) is read only to compare what it received with what the stack
stored. Screenshots are kept in ``.artifacts/screenshots/``.
"""

from __future__ import annotations

import signal
import time
from datetime import datetime
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By

from sharecast.domain.statuses import Platform
from sharecast.store.connections import sandbox_account_id
from tests.conftest import PORTS
from tests.support.api import ApiClient
from tests.support.browser import Browser, png, stored_events, wait_until
from tests.support.sandbox import Sandbox
from tests.support.webhooks import Receiver

TERMINAL = {"PUBLISHED", "PARTIAL", "FAILED", "CANCELLED"}


def assert_page_has_every_event(b: Browser, user_id: str, timeout: float = 150) -> None:
    """Every stored event reached the page, none twice, each matching the event contract."""
    events = stored_events(user_id)
    stored = set(events)
    assert stored
    try:
        wait_until(lambda: stored <= set(b.event_ids()), timeout, "every event in the page")
    except AssertionError:
        missing = {i: events[i] for i in sorted(stored - set(b.event_ids()))}
        raise AssertionError(f"missing in the page: {missing}; state {b.stream_state()}") from None
    received = b.event_ids()
    assert len(received) == len(set(received)), "an event id was delivered twice"
    assert b.schema_mismatches() == []


def create_post(api: ApiClient, text: str, platforms: tuple[str, ...] = ("facebook", "x")) -> str:
    response = api.post(
        "/posts/multipost",
        json={"content": text, "platforms": [{"platform": p} for p in platforms]},
    )
    assert response.status_code == 202, response.text
    return response.json()["postId"]


def wait_terminal(api: ApiClient, post_id: str, timeout: float = 120) -> dict:
    def done() -> dict | None:
        post = api.get(f"/posts/{post_id}").json()
        return post if post["status"] in TERMINAL else None

    return wait_until(done, timeout, f"post {post_id} terminal")


def target_card(b: Browser, platform: str) -> dict:
    """What the post page shows of one target (read at once: the page re-renders live)."""
    return b.js(
        "const c = document.querySelector(`.target[data-platform=${arguments[0]}]`);"
        "return c ? {status: c.dataset.status, attempts: c.querySelector('.attempts').textContent,"
        " link: c.querySelector('a.published-link')?.href || ''} : {status: null};",
        platform,
    )


def compose(b: Browser, text: str, networks: tuple[str, ...] = ("facebook", "x")) -> None:
    """Open the compose page and fill the text and the networks."""
    b.go("/compose")
    form = b.wait_css("#compose[data-ready]")
    form.find_element(By.NAME, "content").send_keys(text)
    for toggle in b.css("input[name=network]"):
        if toggle.is_selected() != (toggle.get_attribute("value") in networks):
            toggle.click()


def test_compose_shows_every_status_live_until_published(browser, user_id):
    b = browser()
    b.sign_in(user_id)
    # The sandbox fails the first attempt of each target: RETRYING, then SUCCESS.
    compose(b, "Launch day #sandbox-fail-transient-1")
    b.shot("compose")
    b.css("#submit-post")[0].click()

    b.wait_css(".post-head .badge[data-status=PUBLISHED]", timeout=120)
    for platform in ("facebook", "x"):
        card = b.wait(
            lambda d, p=platform: target_card(b, p)["status"] == "SUCCESS" and target_card(b, p)
        )
        assert card["link"].startswith("http"), card
        assert card["attempts"].startswith("2 of"), card
    steps = b.js(
        "return [...document.querySelectorAll('#timeline .step')]"
        ".map(s => [s.querySelector('strong').textContent, s.dataset.status])"
    )
    for label in ("Facebook", "X"):
        seen = [status for who, status in steps if who == label]
        assert seen[-3:] == ["RETRYING", "PUBLISHING", "SUCCESS"], steps
    assert ["Post", "PUBLISHED"] in steps
    assert_page_has_every_event(b, user_id)
    b.shot("published")


def relay_has_stream_sessions() -> bool:
    """Whether the relay implements the stream protocol's server side (``/events/session``)."""
    import requests

    url = f"http://127.0.0.1:{PORTS.relay}/events/session"
    return requests.post(url, timeout=30).status_code not in (404, 405)


def test_relay_killed_mid_stream_resumes_without_losing_an_event(browser, stack, user_id, request):
    if not relay_has_stream_sessions():
        # Seen with the relay before its stream-protocol work: after a SIGKILL restart, live
        # events of the resumed stream sometimes never arrive (the page is open, the event is
        # in the log). Strict again as soon as the relay serves /events/session.
        request.applymarker(
            pytest.mark.xfail(
                reason="relay without the stream protocol loses live events after a restart",
                strict=False,
            )
        )
    api = ApiClient(PORTS, user_id)
    b = browser()
    b.sign_in(user_id)
    first = create_post(api, "Before the crash #sandbox-fail-transient-1")
    b.wait(lambda d: len(b.event_ids()) >= 3, what="first events live")
    opens = b.stream_state()["opens"]

    stack.stop_service("relay", sig=signal.SIGKILL)
    b.wait(lambda d: b.stream_state()["status"] != "open", what="the page notices")
    during = [create_post(api, f"While the relay is down {i}") for i in range(2)]
    stack.start_service("relay")

    for post_id in (first, *during):
        wait_terminal(api, post_id)
    b.wait(lambda d: b.stream_state()["opens"] > opens, what="stream open again")
    b.wait_live()
    assert_page_has_every_event(b, user_id)
    after = create_post(api, "After the restart")
    wait_terminal(api, after)
    assert_page_has_every_event(b, user_id)
    b.go("/")
    b.wait_css(f".post-card[data-post-id='{after}'] .badge[data-status=PUBLISHED]")
    b.shot("after-restart")


@pytest.fixture
def short_relay_tokens(stack):
    """Relay tokens valid 30 s with no leeway, for this test only (api and relay restarted)."""
    saved = {name: dict(stack.services[name].env) for name in ("api", "relay")}
    stack.services["api"].env.update({"SSE_TOKEN_TTL_S": "30"})
    stack.services["relay"].env.update({"JWT_LEEWAY_S": "0"})
    stack.restart_service("api")
    stack.restart_service("relay")
    try:
        yield 30
    finally:
        for name, env in saved.items():
            stack.services[name].env = env
            stack.restart_service(name)


def _expiry(state: dict) -> float:
    return datetime.fromisoformat(state["credentialsExpireAt"].replace("Z", "+00:00")).timestamp()


def test_stream_stays_live_when_its_credential_expires_across_a_reconnect(
    browser, stack, user_id, short_relay_tokens
):
    api = ApiClient(PORTS, user_id)
    b = browser()
    b.sign_in(user_id)
    before = create_post(api, "Before the expiry")
    wait_terminal(api, before)
    b.wait(lambda d: len(b.event_ids()) >= 4, what="first events live")

    # The relay goes away and no fresh credential can be had: the page's credential expires
    # while its EventSource keeps retrying.
    stack.stop_service("api")
    stack.stop_service("relay")
    reauths = b.stream_state()["reauths"]
    wait_until(
        lambda: time.time() > _expiry(b.stream_state()) + 2, 90, "the page's credential expired"
    )
    # The relay is back: the reconnect carries an expired credential and is refused (401),
    # which EventSource cannot recover from by itself.
    stack.start_service("relay")
    b.wait(lambda d: b.stream_state()["reauths"] > reauths, 60, "reopen after the 401")
    stack.start_service("api")
    b.wait_live(90)

    after = create_post(api, "After the expiry #sandbox-fail-transient-1")
    wait_terminal(api, after)
    b.go(f"/posts/{after}")
    b.wait_css(".post-head .badge[data-status=PUBLISHED]")
    assert_page_has_every_event(b, user_id)
    b.shot("live-after-expiry")


def test_upload_with_progress_then_a_post_with_the_photo(browser, user_id, tmp_path: Path):
    image = png(1000, 1000)  # about 3 MB: several progress events, under Facebook's 4 MB
    path = tmp_path / "photo.png"
    path.write_bytes(image)
    b = browser()
    b.sign_in(user_id)
    compose(b, "A photo from the browser", networks=("facebook",))
    b.css("#media-input")[0].send_keys(str(path))
    item = b.wait_css(".upload[data-status=uploaded]", timeout=120)
    assert item.find_element(By.CSS_SELECTOR, "progress").get_attribute("value") == "100"
    assert int(item.get_attribute("data-progress-events")) >= 1
    b.shot("uploaded")
    b.css("#submit-post")[0].click()
    b.wait_css(".post-head .badge[data-status=PUBLISHED]", timeout=120)

    page = sandbox_account_id(user_id, Platform.FACEBOOK)
    [published] = [
        p
        for p in Sandbox.of_stack(PORTS).ledger("facebook", page)
        if p["text"].startswith("A photo")
    ]
    assert [m["size"] for m in published["media"]] == [len(image)]
    assert published["media"][0]["content_type"] == "image/png"
    b.shot("published")


def test_422_errors_are_shown_on_their_fields(browser, user_id):
    b = browser()
    b.sign_in(user_id)
    compose(b, "x" * 300, networks=("x",))
    when = b.css("select[data-role=when]")[0]
    when.find_element(By.CSS_SELECTOR, "option[value=schedule]").click()
    b.js("document.querySelector('input[name=scheduleAt]').value = '2001-01-01T10:00'")
    b.css("#submit-post")[0].click()

    text_error = b.wait_css(".field-error[data-error-for=content]")
    assert "X:" in text_error.text
    assert "280" in text_error.text
    schedule_error = b.wait_css(".field-error[data-error-for=scheduleAt]")
    assert "future" in schedule_error.text
    assert b.css("textarea[name=content]")[0].get_attribute("aria-invalid") == "true"
    assert b.css("input[name=scheduleAt]")[0].get_attribute("aria-invalid") == "true"
    assert not b.css("[data-error-for=_form]")
    b.shot("errors")
    # The per-network text takes the blame once it is the text X checks.
    b.css("fieldset[data-network=x] textarea")[0].send_keys("y" * 281)
    b.js("document.querySelector('input[name=scheduleAt]').value = ''")
    when.find_element(By.CSS_SELECTOR, "option[value=now]").click()
    b.css("#submit-post")[0].click()
    b.wait_css(".field-error[data-error-for='platforms[0].content']")
    assert not b.css(".field-error[data-error-for=content]")


def test_phone_width_layout(browser, user_id):
    api = ApiClient(PORTS, user_id)
    post_id = create_post(api, "Seen on a phone")
    wait_terminal(api, post_id)
    b = browser()
    b.phone()
    b.sign_in(user_id)
    for path, ready in [
        ("/", f".post-card[data-post-id='{post_id}']"),
        ("/compose", "#compose[data-ready]"),
        (f"/posts/{post_id}", ".post-head .badge[data-status=PUBLISHED]"),
        ("/connections", "#connections"),
        ("/shares", "#share-form"),
        ("/webhooks", "#webhook-form"),
    ]:
        b.go(path)
        b.wait_css(ready)
        width = b.js("return window.innerWidth")
        overflow = b.js(
            "return [...document.querySelectorAll('body *')]"
            ".filter(e => e.getBoundingClientRect().right > 391"
            " && getComputedStyle(e).position !== 'fixed' && !e.closest('#nav'))"
            ".map(e => e.tagName + '.' + e.className).slice(0, 5)"
        )
        assert width <= 400, (path, width, overflow)
        assert b.js("return document.documentElement.scrollWidth") <= width, (path, overflow)
        assert b.css("#nav a")[0].is_displayed()
        b.shot(f"phone{path.replace('/', '-') or '-posts'}")


def test_webhooks_register_ping_and_the_delivery_log(browser, user_id):
    """Register the sandbox's receiver, keep the secret shown once, ping it: the receiver
    verifies the delivery with that secret and the page's delivery log shows it delivered."""
    receiver = Receiver(PORTS)
    b = browser()
    b.sign_in(user_id)
    b.css("#nav a[data-nav=webhooks]")[0].click()
    form = b.wait_css("#webhook-form")
    form.find_element(By.NAME, "url").send_keys(receiver.url)
    form.find_element(By.NAME, "description").send_keys("console test")
    b.css("#webhook-submit")[0].click()
    secret = b.wait_css("code.secret").text
    assert secret.startswith("whsec_")
    receiver.configure(secrets=[secret])
    card = b.wait_css(".webhook[data-enabled=true]")
    endpoint_id = card.get_attribute("data-endpoint")
    card.find_element(By.CSS_SELECTOR, "button[data-action=ping]").click()
    got = receiver.wait_for(lambda d: len(d) == 1, what="the ping")
    assert got[0]["verified"] is True
    assert got[0]["body"]["data"]["endpoint_id"] == endpoint_id

    api = ApiClient(PORTS, user_id)
    wait_until(
        lambda: api.get(
            f"/webhooks/{endpoint_id}/deliveries", params={"status": "SUCCEEDED"}
        ).json()["items"],
        90,
        "the ping recorded as SUCCEEDED",
    )
    b.css(f".webhook[data-endpoint={endpoint_id}] button[data-action=log]")[0].click()
    b.wait_css(".delivery[data-status=SUCCEEDED]")
    assert "HTTP 200" in b.css(".delivery[data-status=SUCCEEDED]")[0].text
    b.shot("webhooks")
    b.css(f".webhook[data-endpoint={endpoint_id}] button[data-action=toggle]")[0].click()
    b.wait_css(f".webhook[data-endpoint={endpoint_id}][data-enabled=false]")
    assert api.get(f"/webhooks/{endpoint_id}").json()["enabled"] is False
