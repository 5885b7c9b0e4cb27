"""Browser tests: Playwright drives Debian's chromium against pytest-django's live server.

The test and the live server share one database, so every test here is transactional: what a
test writes with the ORM is committed, and the page sees it. The flush after each test would
also wipe the role groups the migrations create, hence `serialized_rollback`, which restores
the migrated rows before the next test.
"""

import os
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

CHROMIUM = Path("/usr/bin/chromium")
NO_CHROMIUM = (
    f"{CHROMIUM} not found: install Debian's chromium (`apt-get install -y chromium`) to run "
    "the browser tests; never `playwright install`"
)
HERE = Path(__file__).parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if HERE not in item.path.parents:
            continue
        item.add_marker(pytest.mark.e2e)
        item.add_marker(pytest.mark.django_db(transaction=True, serialized_rollback=True))
        # A newcomer without chromium still gets a green run; CI sets REQUIRE_BROWSER so a
        # missing browser fails there (in browser_type_launch_args) instead of passing quietly.
        if not CHROMIUM.exists() and not os.environ.get("REQUIRE_BROWSER"):
            item.add_marker(pytest.mark.skip(reason=NO_CHROMIUM))


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict) -> dict:
    if not CHROMIUM.exists():
        pytest.fail(f"REQUIRE_BROWSER is set, but {NO_CHROMIUM}", pytrace=False)
    return {
        "headless": True,  # unless --headed asked otherwise
        **browser_type_launch_args,
        "executable_path": str(CHROMIUM),
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ],
    }


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict) -> dict:
    # The browser's language picks the UI language: pin it, whatever the machine's locale.
    return {**browser_context_args, "locale": "en-US"}


def login(page: Page, live_server, username: str, password: str = "pw") -> None:
    """Log in through the login form, as a person would, and wait for the landing page."""
    page.goto(f"{live_server.url}/accounts/login/")
    form = page.locator("main form")
    form.locator("input[name=username]").fill(username)
    form.locator("input[name=password]").fill(password)
    form.locator("button[type=submit]").click()
    # Attached, not visible: at phone width the name is folded behind the Menu button.
    expect(page.locator("header .who")).to_be_attached()
    # The page's deferred scripts (htmx among them) have run: its controls answer.
    page.wait_for_load_state()
