from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class LeaderboardWeights(models.Model):
    """Points per successful action on the leaderboard, set by the admin (one row)."""

    reached_call = models.PositiveIntegerField(_("a reached call of 30 s or more"), default=1)
    checked_lead = models.PositiveIntegerField(_("a lead checked"), default=2)
    conversion = models.PositiveIntegerField(_("a conversion not disputed away"), default=5)
    won_deal = models.PositiveIntegerField(_("a won deal"), default=10)

    class Meta:
        verbose_name = _("leaderboard points")
        verbose_name_plural = _("leaderboard points")

    def __str__(self) -> str:
        return str(_("Leaderboard points"))

    @classmethod
    def current(cls) -> "LeaderboardWeights":
        return cls.objects.order_by("pk").first() or cls()


class TeamDay(models.Model):
    """One team's figures for one whole day of its own time zone, as the team report adds them
    up (reports/rollups.py): counts, money, breaches by hour, and the reactions as a
    histogram (reports/histogram.py). Built for closed days only; a day without a row, with a
    DirtyDay mark, or not yet closed is computed from the raw rows when it is read."""

    team = models.ForeignKey("teams.Team", on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    figures = models.JSONField(default=dict)
    reactions = models.BinaryField(default=b"")
    built_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["team", "day"], name="team_day_once")]

    def __str__(self) -> str:
        return f"{self.team_id} {self.day}"


class DirtyDay(models.Model):
    """A built day that a later write changed (a lead converted weeks after it arrived): read
    live until the roll-up job rebuilds it. `marked_at` is the last write's commit."""

    team = models.ForeignKey("teams.Team", on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    marked_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["team", "day"], name="dirty_day_once")]

    def __str__(self) -> str:
        return f"{self.team_id} {self.day}"


class PersonDay(models.Model):
    """One person's figures for one whole day of one time zone, as the person report and the
    leaderboard add them up (reports/person_rollups.py): only people who did something that
    day have a row. A page's period is cut in its reader's zone (their team's), so a day is
    kept for every zone a reader may have; `PersonBuiltDay` says which days are built."""

    person = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    zone = models.CharField(max_length=64)
    day = models.DateField()
    figures = models.JSONField(default=dict)
    reactions = models.BinaryField(default=b"")
    built_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["zone", "person", "day"], name="person_day_once")
        ]

    def __str__(self) -> str:
        return f"{self.person_id} {self.zone} {self.day}"


class PersonBuiltDay(models.Model):
    """A day of a zone whose PersonDay rows are built: a person without a row did nothing."""

    zone = models.CharField(max_length=64)
    day = models.DateField()
    built_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["zone", "day"], name="person_built_once")]

    def __str__(self) -> str:
        return f"{self.zone} {self.day}"


class PersonDirtyDay(models.Model):
    """A built person-day that a later write changed (a deal won weeks after its handoff):
    read live until the roll-up job rebuilds the zone's day."""

    person = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    zone = models.CharField(max_length=64)
    day = models.DateField()
    marked_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["zone", "person", "day"], name="person_dirty_once")
        ]

    def __str__(self) -> str:
        return f"{self.person_id} {self.zone} {self.day}"


class InsightDay(models.Model):
    """One team's insight figures for one whole day of one zone (reports/insight_rollups.py):
    by source, of the leads that arrived that day; by answer, of the leads handed off that
    day. Kept per zone as a person's day is (the page is cut in its reader's zone); only
    team-days with anything have a row, and `InsightBuiltDay` says which days are built."""

    team = models.ForeignKey("teams.Team", on_delete=models.CASCADE, related_name="+")
    zone = models.CharField(max_length=64)
    day = models.DateField()
    figures = models.JSONField(default=dict)
    built_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["zone", "day", "team"], name="insight_day_once")
        ]

    def __str__(self) -> str:
        return f"{self.team_id} {self.zone} {self.day}"


class InsightBuiltDay(models.Model):
    """A day of a zone whose InsightDay rows are built: a team without a row had nothing."""

    zone = models.CharField(max_length=64)
    day = models.DateField()
    built_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["zone", "day"], name="insight_built_once")]

    def __str__(self) -> str:
        return f"{self.zone} {self.day}"


class InsightDirtyDay(models.Model):
    """A built team-day of insights that a later write changed (a deal won weeks after its
    handoff): read live until the roll-up job rebuilds the zone's day."""

    team = models.ForeignKey("teams.Team", on_delete=models.CASCADE, related_name="+")
    zone = models.CharField(max_length=64)
    day = models.DateField()
    marked_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["zone", "team", "day"], name="insight_dirty_once")
        ]

    def __str__(self) -> str:
        return f"{self.team_id} {self.zone} {self.day}"


class CallDay(models.Model):
    """One qualification team's call figures for one whole day of its own time zone, per
    person (reports/call_rollups.py): {person id, "" for nobody: [FIELDS]}. A row counts by the
    team's source, call norm seconds and SLA minutes as they were when it was built (`cut`); a
    row of another cut than the team's now is not read, and the next refresh replaces it."""

    team = models.ForeignKey("teams.Team", on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    cut = models.CharField(max_length=100)
    figures = models.JSONField(default=dict)
    built_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["team", "day"], name="call_day_once")]

    def __str__(self) -> str:
        return f"{self.team_id} {self.day}"


class CallDirtyDay(models.Model):
    """A built day of a team's calls that a later write changed (a call logged late, a lead
    decided after a call logged weeks late): read live until the roll-up job rebuilds it."""

    team = models.ForeignKey("teams.Team", on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    marked_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["team", "day"], name="call_dirty_once")]

    def __str__(self) -> str:
        return f"{self.team_id} {self.day}"
