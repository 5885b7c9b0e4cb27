"""What each enum value of the REST API means, written into the OpenAPI schema.

drf-spectacular describes an enum by its choice labels ("`busy` - busy"), which tells an
integrator nothing new. The meanings are plain data keyed by the schema's enum names (set in
SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"]), so this module imports no app;
tests/api/test_schema_valid.py fails when an enum of the schema, or a value of one, has no
meaning here — a new state cannot slip into the API undocumented. The README's enum table
says the same in prose."""

MEANINGS: dict[str, dict[str, str]] = {
    "LeadStateEnum": {
        "new": "Arrived and not yet qualified: in the qualification team's queue.",
        "checked": "The qualifier reached the person and verified the name and phone; "
        "ready to convert.",
        "converted": "Qualified and handed off: the sales team has a deal for it.",
        "junk": "Not a buyer; `junk_reason` says why. Final.",
    },
    "DealStageEnum": {
        "handed_off": "Handed to the sales team, not picked up yet (in the team's pool, or "
        "given to `closer`).",
        "accepted": "A closer picked it up.",
        "meeting": "A site visit (measurement) is booked: `meeting_at`, `meeting_address`.",
        "proposal": "The closer has made a proposal.",
        "won": "Signed; `amount` is the revenue. Final.",
        "lost": "Lost; `loss_reason` says why. Final.",
        "returned": "Closed because a dispute was upheld: the qualification was wrong. Final.",
    },
    "StageInputStageEnum": {
        "accepted": "Pick the deal up (from `handed_off`).",
        "meeting": "Book the site visit; needs `meeting_at` and `address`.",
        "proposal": "A proposal was made (from `accepted` or `meeting`).",
    },
    "AttemptOutcomeEnum": {
        "reached": "Spoke to the person; the lead stays with the caller (check, junk or "
        "convert it next).",
        "no_answer": "Nobody picked up; the lead goes back to the queue, due again after the "
        "team's retry delay (30 min by default).",
        "busy": "The line was busy; as `no_answer`.",
        "wrong_number": "The number is not the person's; the lead stays with the caller, "
        "usually to be junked.",
        "callback": "The person asked to be called back at `callback_at` (required), which "
        "becomes the lead's due time and SLA deadline.",
    },
    "CallSourceEnum": {
        "pbx": "The team has a PBX connected: its calls with their real start, direction and "
        "talk seconds.",
        "typed": "No PBX: the attempts the qualifiers logged by hand, durations as typed; "
        "`calls_received` and `calls_missed` are null.",
    },
    "DisputeOutcomeEnum": {
        "upheld": "The qualification was wrong: counts against the qualifier; the deal is "
        "closed as `returned`.",
        "rejected": "The lead was good: counts against the closer, who keeps the deal.",
    },
    "TemperatureEnum": {
        "hot": "Score 70 or more.",
        "warm": "Score 40 to 69.",
        "potential": "Score below 40.",
    },
    "VerdictEnum": {
        "good": "The answer earns the criterion's weight towards the score.",
        "neutral": "The answer earns nothing and blocks nothing.",
        "bad": "The answer earns nothing; on a knock-out criterion it blocks conversion.",
    },
    "CriterionKindEnum": {
        "yes_no": "Answer `yes` or `no`.",
        "choice": "Answer one of the criterion's `options` by its `value`.",
        "number": "Answer a number; good inside [`min_value`, `max_value`].",
        "text": "Answer free text; good when given.",
    },
    "AnswerOriginEnum": {
        "qualifier": "Given by `answered_by` on the call.",
        "form": "Pre-filled from the lead's web form (`answered_by` is null); the qualifier "
        "may answer over it.",
        "import": "Pre-filled from a column of the file the lead was imported from "
        "(`answered_by` is null).",
    },
    # drf-spectacular's name for the empty value of a field that may be blank.
    "PointKindEnum": {
        "mobile": "a mobile phone",
        "work": "at work",
        "home": "at home, personal",
        "other": "not said",
    },
    "BlankEnum": {"": "Not set yet: an open dispute has no outcome."},
    "ExportStateEnum": {
        "queued": "Waiting for a worker.",
        "running": "A worker is writing the file: `rows_done` of `rows_total`.",
        "done": "The file is ready at `download_url`.",
        "failed": "Not written; `error` says why.",
    },
    "ExportRequestStateEnum": {
        "new": "Only leads not yet qualified.",
        "checked": "Only leads checked and ready to convert.",
    },
    "AssigneeEnum": {
        "me": "Only the caller's leads.",
        "nobody": "Only leads nobody holds now.",
    },
    "AgeEnum": {
        "1h": "Arrived in the last hour.",
        "24h": "Arrived in the last 24 hours.",
        "older_1d": "Arrived more than a day ago.",
        "older_7d": "Arrived more than a week ago.",
    },
    "ChannelEnum": {
        "web_form": "A website form, posting to the intake.",
        "phone": "An inbound phone call, entered by hand.",
        "walk_in": "A visitor to the showroom, entered by hand.",
        "email": "An e-mail enquiry.",
        "exhibition": "Contacts collected at an exhibition.",
        "purchased_list": "A bought list, imported from CSV.",
        "api": "Another system posting through the API.",
    },
}


def describe(meanings: dict[str, str]) -> str:
    return "\n".join(f"* {_shown(value)} — {meaning}" for value, meaning in meanings.items())


def _shown(value: str) -> str:
    return f"`{value}`" if value else '`""` (empty)'


def describe_enums(result: dict, generator, request, public) -> dict:
    """drf-spectacular postprocessing hook, run after its enum hook (which names the enum
    components): each enum component, and each query parameter offering the same values,
    gets the meaning of every value."""
    schemas = result.get("components", {}).get("schemas", {})
    by_values = {}
    for name, meanings in MEANINGS.items():
        if name in schemas:
            schemas[name]["description"] = describe(meanings)
            by_values[frozenset(meanings)] = meanings
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                values = frozenset(parameter.get("schema", {}).get("enum", ()))
                if values in by_values:
                    parameter["description"] = describe(by_values[values])
    return result
