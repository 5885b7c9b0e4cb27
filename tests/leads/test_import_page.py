import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from leads.models import Lead, LeadImport, LeadSource

pytestmark = pytest.mark.django_db

CSV = "ФИО;Телефон\nИванов Иван;+79161234567\nПетров Пётр;12345\nСидоров Сидор;+79161234568\n"


def upload(client, world, text: str = CSV, encoding: str = "cp1251"):
    source = LeadSource.objects.get()
    file = SimpleUploadedFile("leads.csv", text.encode(encoding), content_type="text/csv")
    return client.post(
        reverse("leads:import"), {"file": file, "team": world.team.pk, "source": source.pk}
    )


def run_to_the_end(client, job: LeadImport) -> LeadImport:
    for _ in range(20):
        client.post(reverse("leads:import_step", args=[job.pk]))
        job.refresh_from_db()
        if job.status == LeadImport.Status.DONE:
            break
    return job


def test_qualifiers_and_closers_cannot_import(client, world):
    for user in (world.qualifier, world.closer):
        client.force_login(user)
        assert client.get(reverse("leads:import")).status_code == 403


def test_head_uploads_maps_and_imports_skipping_bad_rows(client, world):
    client.force_login(world.head)
    response = upload(client, world)
    job = LeadImport.objects.get()
    assert response["Location"] == reverse("leads:import_job", args=[job.pk])
    assert job.mapping == {"name": "ФИО", "phone": ["Телефон"]}
    page = client.get(response["Location"]).content.decode()
    assert "Иванов Иван" in page  # the preview
    client.post(response["Location"], {"map_name": "ФИО", "map_phone": "Телефон"})
    job = run_to_the_end(client, job)
    assert (job.created, job.bad_rows, job.errors[0][0]) == (2, 1, 3)
    assert Lead.objects.count() == 2
    html = client.get(response["Location"]).content.decode()
    assert "Enter a valid phone number." in html


def test_all_or_nothing_from_the_page_stores_nothing(client, world):
    client.force_login(world.head)
    upload(client, world)
    job = LeadImport.objects.get()
    client.post(
        reverse("leads:import_job", args=[job.pk]),
        {"map_name": "ФИО", "map_phone": "Телефон", "all_or_nothing": "on"},
    )
    job = run_to_the_end(client, job)
    assert (job.status, job.bad_rows, job.created) == ("done", 1, 0)
    assert not Lead.objects.exists()


def test_steps_resume_where_they_stopped(world):
    from leads.imports import lead_import_step

    rows = "\n".join(f"Клиент Номер{i};+7916{i:07d}" for i in range(25))
    job = LeadImport.objects.create(
        created_by=world.head,
        team=world.team,
        source=LeadSource.objects.get(),
        file_name="x.csv",
        text="ФИО;Телефон\n" + rows,
        encoding="utf-8",
        delimiter=";",
        header=["ФИО", "Телефон"],
        total_rows=25,
    )
    job.start(mapping={"name": "ФИО", "phone": "Телефон"}, dry_run=False, all_or_nothing=False)
    job.save()
    seen = []
    while job.status != LeadImport.Status.DONE:
        job = lead_import_step(job.pk, max_rows=10)
        seen.append(job.percent)
    assert seen[-1] == 100 and seen[0] < 100
    assert Lead.objects.count() == 25


@pytest.mark.parametrize(
    ("post", "error"),
    [
        ({"map_name": "ФИО"}, "Map a phone or an e-mail column."),
        ({"map_phone": "Нет такой"}, "Select a valid choice."),
    ],
)
def test_bad_mapping_gets_an_error_and_starts_nothing(client, world, post, error):
    client.force_login(world.head)
    upload(client, world)
    job = LeadImport.objects.get()
    response = client.post(reverse("leads:import_job", args=[job.pk]), post)
    assert response.status_code == 400
    assert error in response.content.decode()
    job.refresh_from_db()
    assert job.status == LeadImport.Status.READY


def test_unreadable_upload_gets_a_clear_error(client, world):
    client.force_login(world.head)
    response = client.post(
        reverse("leads:import"),
        {
            "file": SimpleUploadedFile("x.csv", b"\x00\x98\x98"),
            "team": world.team.pk,
            "source": LeadSource.objects.get().pk,
        },
    )
    assert "neither UTF-8 nor Windows-1251" in response.content.decode()
    assert not LeadImport.objects.exists()


def test_another_users_import_is_404(client, world):
    client.force_login(world.head)
    upload(client, world)
    job = LeadImport.objects.get()
    other_head = world.closer
    from django.contrib.auth.models import Group

    other_head.groups.add(Group.objects.get(name="Sales head"))
    client.force_login(other_head)
    assert client.get(reverse("leads:import_job", args=[job.pk])).status_code == 404
    assert client.post(reverse("leads:import_step", args=[job.pk])).status_code == 404


def test_export_is_the_filtered_queue_as_excel_csv(client, world):
    from tests.factories import make_lead

    make_lead(world.team, name="Иван Петров", phone="+79161234567")
    make_lead(world.other_team, name="Чужой Лид", phone="+79161234568")
    client.force_login(world.qualifier)
    response = client.get(reverse("leads:export"), {"state": "new"})
    body = b"".join(response.streaming_content).decode("utf-8")
    assert body.startswith("\ufeffId;Full name;Phone")
    assert "Иван Петров;+7 916 123-45-67" in body
    assert "Чужой" not in body


def test_export_headers_are_in_the_readers_language(client, world):
    from django.utils import translation

    client.force_login(world.qualifier)
    client.cookies["django_language"] = "ru"
    with translation.override("ru"):
        response = client.get(reverse("leads:export"), HTTP_ACCEPT_LANGUAGE="ru")
    header = b"".join(response.streaming_content).decode("utf-8").splitlines()[0]
    assert header.startswith("\ufeffID;ФИО;Телефон")
    assert header.endswith("Все телефоны;Все e-mail")
