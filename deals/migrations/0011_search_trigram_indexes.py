"""Search (issue 16.1): GIN trigram indexes on PostgreSQL only (SQLite searches by a plain
scan): a contact's every phone and e-mail, its folded name and primary e-mail, and a
company's folded name (`deals.search`, the expressions the search filters on)."""

from django.contrib.postgres.indexes import GinIndex, OpClass
from django.db import migrations

from crm.lib.postgres_ops import AddIndexOnPostgres
from deals.search import COMPANY_TEXT_FIELDS, CONTACT_TEXT_FIELDS
from leads.search import search_text


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY

    dependencies = [("deals", "0010_board_indexes"), ("leads", "0021_search_trigram_indexes")]

    operations = [
        AddIndexOnPostgres(
            "contactpoint",
            GinIndex(
                fields=["value"], opclasses=["gin_trgm_ops"], name="contact_point_value_trgm"
            ),
        ),
        AddIndexOnPostgres(
            "contact",
            GinIndex(
                OpClass(search_text(*CONTACT_TEXT_FIELDS), name="gin_trgm_ops"),
                name="contact_search_trgm",
            ),
        ),
        AddIndexOnPostgres(
            "company",
            GinIndex(
                OpClass(search_text(*COMPANY_TEXT_FIELDS), name="gin_trgm_ops"),
                name="company_search_trgm",
            ),
        ),
    ]
