"""A qualifier exports a long queue in a real browser: the queue's Export button starts a job,
the exports page shows it waiting, then done as a real Celery worker writes it, and the file
downloads in the reader's language."""

import os
import re
import uuid
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from leads import exports
from leads.models import ExportJob
from leads.tasks import run_export
from tests.e2e.conftest import login
from tests.factories import make_lead
from tests.worker.test_celery_worker import Worker

WORDS = {
    "en": {"locale": "en-US", "queued": "queued", "done": "done", "header": "Id;Full name;Phone"},
    "ru": {"locale": "ru-RU", "queued": "в очереди", "done": "готово", "header": "ID;ФИО;Телефон"},
}


@pytest.mark.parametrize("language", ["en", "ru"])
def test_export_a_long_queue_through_a_job(
    browser: Browser, live_server, world, settings, tmp_path, monkeypatch, language
):
    words = WORDS[language]
    settings.EXPORT_STREAM_MAX_ROWS = 1  # two leads are a long list here
    settings.MEDIA_ROOT = tmp_path / "media"
    worker = Worker(tmp_path, f"test-{uuid.uuid4().hex[:8]}")
    # The page's job goes to this test's own worker (the test run's queue may hold others').
    monkeypatch.setattr(
        exports, "_enqueue", lambda job_id: run_export.apply_async((job_id,), queue=worker.queue)
    )
    make_lead(world.team, name="Иван Петров", phone="+79161234567")
    make_lead(world.team, name="Анна Смирнова", phone="+79161234568")
    make_lead(world.other_team, name="Чужой Лид", phone="+79161234569")

    context = browser.new_context(locale=words["locale"], accept_downloads=True)
    page = context.new_page()
    try:
        login(page, live_server, "qualifier")
        page.goto(f"{live_server.url}/leads/")
        page.locator("#export").click()
        expect(page).to_have_url(re.compile(r"/leads/exports/#export-\d+$"))
        job = ExportJob.objects.get()
        panel = page.locator(f"#export-{job.pk}")
        expect(panel.locator(".export-state")).to_have_text(words["queued"])
        expect(panel.locator("progress")).to_be_visible()

        os.environ["MEDIA_ROOT"] = str(settings.MEDIA_ROOT)
        try:
            worker.start()
        finally:
            del os.environ["MEDIA_ROOT"]
        expect(panel.locator(".export-state")).to_have_text(words["done"], timeout=60_000)
        expect(panel.locator(".export-rows")).to_contain_text("2")
        with page.expect_download() as download:
            panel.locator(".export-download").click()
        body = Path(download.value.path()).read_text(encoding="utf-8-sig")
    finally:
        context.close()
        worker.stop()
    header, *rows = body.splitlines()
    assert header.startswith(words["header"])
    assert len(rows) == 2 and "Чужой" not in body
    assert ExportJob.objects.get().language == language
