"""Search (issue 16.1): a contact's words (folded name and primary e-mail) and a company's
(its folded name) as full-text indexes read by `word:*` prefix queries, as a lead's
(`leads 0023`, `leads.search.words_of`); they replace the trigram indexes on the same texts
(0011), which nothing reads any more. PostgreSQL only, built and dropped concurrently."""

from django.contrib.postgres.indexes import GinIndex, OpClass
from django.db import migrations

from crm.lib.postgres_ops import AddIndexOnPostgres, RemoveIndexOnPostgres
from deals.search import COMPANY_TEXT_FIELDS, CONTACT_TEXT_FIELDS
from leads.search import search_text, words_of


class Migration(migrations.Migration):
    atomic = False  # CREATE / DROP INDEX CONCURRENTLY

    dependencies = [
        ("deals", "0011_search_trigram_indexes"),
        ("leads", "0023_search_word_prefix_index"),
    ]

    operations = [
        AddIndexOnPostgres(
            "contact", GinIndex(words_of(*CONTACT_TEXT_FIELDS), name="contact_words")
        ),
        AddIndexOnPostgres(
            "company", GinIndex(words_of(*COMPANY_TEXT_FIELDS), name="company_words")
        ),
        RemoveIndexOnPostgres(
            "contact",
            GinIndex(
                OpClass(search_text(*CONTACT_TEXT_FIELDS), name="gin_trgm_ops"),
                name="contact_search_trgm",
            ),
        ),
        RemoveIndexOnPostgres(
            "company",
            GinIndex(
                OpClass(search_text(*COMPANY_TEXT_FIELDS), name="gin_trgm_ops"),
                name="company_search_trgm",
            ),
        ),
    ]
