"""Locust users for bench/load_bench.py: qualifiers working the queue, web forms posting leads.

A qualifier logs in, then loops: open the queue, Take next, log a call on the lead it got and
junk it (so every lead is claimed at most once if claims are single). Intake users post one
lead a second each (20 of them: 20 leads/s)."""

import itertools
import os
import re

from locust import HttpUser, between, constant_throughput, task

QUALIFIERS = itertools.count(1)
PHONES = itertools.count(1)
INTAKE_KEY = os.environ["BENCH_INTAKE_KEY"]
PASSWORD = os.environ.get("BENCH_PASSWORD", "bench-pass-123")
LEAD_URL = re.compile(r"/leads/(\d+)/$")


class Qualifier(HttpUser):
    weight = 1
    fixed_count = 20
    wait_time = between(0.5, 1.5)

    def on_start(self) -> None:
        self.username = f"loadq{next(QUALIFIERS)}"
        self.client.get("/accounts/login/", name="login page")
        self.client.post(
            "/accounts/login/",
            {
                "username": self.username,
                "password": PASSWORD,
                "csrfmiddlewaretoken": self.client.cookies.get("csrftoken", ""),
            },
            name="login",
        )

    def _form(self, **fields) -> dict:
        return {"csrfmiddlewaretoken": self.client.cookies.get("csrftoken", ""), **fields}

    @task
    def work_the_queue(self) -> None:
        self.client.get("/leads/", name="queue page")
        self.client.get("/leads/?", headers={"HX-Request": "true"}, name="queue refresh (htmx)")
        response = self.client.post("/leads/take-next/", self._form(), name="take next")
        found = LEAD_URL.search(response.url or "")
        if not found:
            return  # the queue was empty
        lead = found.group(1)
        self.client.post(
            f"/leads/{lead}/attempts/",
            self._form(outcome="wrong_number", duration_s="5"),
            name="log call",
        )
        self.client.post(
            f"/leads/{lead}/junk/", self._form(reason="1", note="load test"), name="junk"
        )


class WebForm(HttpUser):
    weight = 1
    fixed_count = 20
    wait_time = constant_throughput(1)

    @task
    def post_lead(self) -> None:
        number = next(PHONES)
        self.client.post(
            "/api/v1/intake/",
            json={
                "name": "Нагрузка Тест",
                "phone": f"+7916{number:07d}",
                "external_id": f"load-{os.getpid()}-{number}",
            },
            headers={"X-Intake-Key": INTAKE_KEY},
            name="intake",
        )
