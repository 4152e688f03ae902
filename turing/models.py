"""Turing test sets, their images, participants and answers.

A TuringSet is one build of set N (1..19): rebuilding with --force archives the old build
(`archived_at`) with its participants and answers, and creates a new row, so nothing is deleted.
A TuringImage is one re-encoded file; its `token` names it to researchers only. A Participant takes
one set build in an order drawn for them (`order`, image ids; an attention check repeats one, and a
catch trial, an obvious test pattern, sits somewhere inside); each trial is a Showing with its own
random token (and its own padding bytes), so that nothing one participant sees names an image to the
next, and a repeat is not recognisable by its token. An Answer is one trial. A StartLog row is what the
per-network limit of new tests needs: a keyed HMAC of the address, kept for the limit's window only. "One answer per
participant per image" and "one answer per trial" are database constraints.

A Study (loaded from a TOML file, see turing/studies.py) spreads its participants over (set, condition)
cells; a participant of a study keeps the ConsentVersion they agreed to, their language and, when they came
from a recruitment panel, the panel's id (purged after the study's retention_days). What leaves no
participant row (entering without consenting, declining, withdrawing) is a FlowEvent: an anonymous count
for the attrition table, never an id.
"""
from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from datasets.models import ImageRecord


class Truth(models.TextChoices):
    REAL = "real", "Real"
    SYNTHETIC = "synthetic", "Synthetic"


class Feedback(models.TextChoices):
    NONE = "none", "Never"
    EACH = "each", "After each answer"
    END = "end", "At the end"


class Kind(models.TextChoices):
    LESION = "lesion", "Lesion photograph"
    CATCH = "catch", "Catch trial (test pattern)"


class Profile(models.TextChoices):  # visitors choose one (the consent form) and see it (the score page)
    DERMATOLOGIST = "dermatologist", _("Dermatologist")
    RESIDENT = "resident", _("Dermatology resident")
    PHYSICIAN = "physician", _("Other physician")
    HEALTH = "health", _("Other health professional")
    LAYPERSON = "layperson", _("Layperson")


class Panel(models.TextChoices):  # participants read its name ("Return to Prolific")
    NONE = "none", _("None (anyone with the link)")
    PROLIFIC = "prolific", "Prolific"
    MTURK = "mturk", "Amazon Mechanical Turk"
    CLOUDRESEARCH = "cloudresearch", "CloudResearch"
    GENERIC = "generic", _("Other panel (?pid=)")


class Outcome(models.TextChoices):
    """How a participant leaves a study; each has the panel's completion code."""

    COMPLETED = "completed", "Completed"
    FAILED_ATTENTION = "failed_attention", "Failed an attention check"
    NO_CONSENT = "no_consent", "Declined consent"


class TuringSetQuerySet(models.QuerySet):
    def current(self):
        return self.filter(archived_at__isnull=True)


class TuringSet(models.Model):
    number = models.PositiveSmallIntegerField(help_text="N in /turing/?q=N.")
    feedback = models.CharField(max_length=8, choices=Feedback.choices, default=Feedback.END)
    seed = models.BigIntegerField()
    composition = models.JSONField(default=dict, help_text="Counts by half, source dataset and class.")
    build_options = models.JSONField(default=dict, help_text="The build command's resolved flags.")
    consent_text = models.TextField(blank=True, help_text="Blank: settings.TURING_CONSENT_TEXT.")
    created_at = models.DateTimeField(auto_now_add=True)
    archived_at = models.DateTimeField(null=True, blank=True, help_text="Set when a --force rebuild replaced it.")

    objects = TuringSetQuerySet.as_manager()

    class Meta:
        ordering = ["number", "-created_at"]
        constraints = [models.UniqueConstraint(fields=["number"], condition=Q(archived_at__isnull=True),
                                               name="one_current_build_per_set")]

    def __str__(self) -> str:
        return f"set {self.number}" + (" (archived)" if self.archived_at else "")


class Study(models.Model):
    """A study as its TOML file defines it (turing/studies.py reads and writes the file)."""

    slug = models.SlugField(max_length=64, unique=True, help_text="/turing/s/<slug>/")
    title = models.CharField(max_length=200)
    sets = models.JSONField(default=list, help_text="Turing set numbers the participants are spread over.")
    conditions = models.JSONField(default=list, help_text="Feedback arms (none, each, end), assigned balanced.")
    practice = models.PositiveSmallIntegerField(default=0, help_text="Practice images first (never scored).")
    trial_seconds = models.PositiveIntegerField(default=0, help_text="Time limit per image; 0: none.")
    languages = models.JSONField(default=list, help_text="Language codes participants may choose.")
    debrief = models.TextField(blank=True, help_text="Shown after the score.")
    contact = models.CharField(max_length=200, blank=True)
    retention_days = models.PositiveIntegerField(default=365, help_text="Panel ids are purged after this.")
    panel = models.CharField(max_length=16, choices=Panel.choices, default=Panel.NONE)
    completion_url = models.CharField(max_length=500, blank=True, help_text="With {code} for the outcome's code.")
    codes = models.JSONField(default=dict, help_text="Completion code per outcome.")
    active = models.BooleanField(default=True, help_text="Closed studies take no new participants.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["slug"]
        verbose_name_plural = "studies"

    def __str__(self) -> str:
        return self.slug

    def current_consent(self) -> ConsentVersion | None:
        """The consent version new participants agree to: the latest loaded (participants keep theirs)."""
        return self.consent_versions.order_by("-number").first()


class ConsentVersion(models.Model):
    """One consent text of a study: a changed text is a new version; participants keep the one they agreed to."""

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="consent_versions")
    number = models.PositiveSmallIntegerField(help_text="1, 2, ... in the order the texts were loaded.")
    text = models.TextField()
    sha256 = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["study", "number"]
        constraints = [models.UniqueConstraint(fields=["study", "number"], name="one_consent_number_per_study"),
                       models.UniqueConstraint(fields=["study", "sha256"], name="one_version_per_consent_text")]

    def __str__(self) -> str:
        return f"{self.study.slug} consent v{self.number}"


class FlowEvent(models.Model):
    """A step of the study flow that leaves no participant row: entering, declining, withdrawing.
    Anonymous by design (no participant, no panel id): only counts per condition and language."""

    class Event(models.TextChoices):
        ENTERED = "entered", "Entered"
        DECLINED = "declined", "Declined consent"
        WITHDREW = "withdrew", "Withdrew"

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="flow_events")
    event = models.CharField(max_length=10, choices=Event.choices)
    condition = models.CharField(max_length=8, blank=True, help_text="Blank before a cell is assigned.")
    set_number = models.PositiveSmallIntegerField(null=True, blank=True)
    language = models.CharField(max_length=8, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["study", "created_at"]
        indexes = [models.Index(fields=["study", "event"])]

    def __str__(self) -> str:
        return f"{self.study.slug}: {self.event}"


class EncodedImage(models.Model):
    """What every image file shown to participants keeps: its truth and class, where it came from, and the
    re-encoded, padded file named by its token (turing/encoding.py writes them)."""

    token = models.CharField(max_length=32, unique=True)
    truth = models.CharField(max_length=10, choices=Truth.choices)
    label = models.CharField(max_length=16, blank=True)
    record = models.ForeignKey(ImageRecord, null=True, on_delete=models.SET_NULL, related_name="+")
    origin_dataset = models.CharField(max_length=64)
    origin_item = models.CharField(max_length=64)
    file = models.CharField(max_length=255, help_text="Relative to MEDIA_ROOT; named by the token.")
    bytes = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)

    class Meta:
        abstract = True


class PracticeImage(EncodedImage):
    """A practice image of a study (turing/practice.py builds them): drawn from source images that no live
    set uses, encoded and padded like the set images, shown with its truth and never scored. Its token
    names it to every participant alike: it gives nothing away, since its truth is shown anyway."""

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="practice_images")
    position = models.PositiveSmallIntegerField(help_text="Practice trial index, from 0.")

    class Meta:
        ordering = ["study", "position"]
        constraints = [models.UniqueConstraint(fields=["study", "position"], name="one_practice_image_per_place")]

    def __str__(self) -> str:
        return f"{self.study.slug} practice {self.position + 1}"


class TuringImage(EncodedImage):
    turing_set = models.ForeignKey(TuringSet, on_delete=models.PROTECT, related_name="images")
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.LESION,
                            help_text="A catch trial is a test pattern: kept out of every score, it flags "
                                      "whoever calls it real.")
    label = models.CharField(max_length=16, blank=True, help_text="melanoma or nevus (blank for a catch trial)")

    class Meta:
        ordering = ["turing_set", "id"]

    def __str__(self) -> str:
        return self.token


class Participant(models.Model):
    public_id = models.CharField(max_length=32, unique=True, help_text="Anonymous id, also in the session.")
    turing_set = models.ForeignKey(TuringSet, on_delete=models.PROTECT, related_name="participants")
    profile = models.CharField(max_length=16, choices=Profile.choices, blank=True)
    years = models.PositiveSmallIntegerField(null=True, blank=True, help_text="Years of experience.")
    order = models.JSONField(help_text="Image ids in the order shown; a repeated id is an attention check.")
    position = models.PositiveSmallIntegerField(default=0, help_text="Trials answered so far.")
    shown_at = models.DateTimeField(null=True, blank=True, help_text="When the current image was sent.")
    created_at = models.DateTimeField(auto_now_add=True)
    last_seen = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    attention_failed = models.PositiveSmallIntegerField(default=0, help_text="Repeats given another answer.")
    catch_failed = models.PositiveSmallIntegerField(default=0, help_text="Catch test patterns called real.")
    fast_answers = models.PositiveSmallIntegerField(default=0)
    flagged = models.BooleanField(default=False, help_text="Left out of the default analysis.")
    # a study's participant: their cell, language, consent record and (from a panel) the panel's ids
    study = models.ForeignKey(Study, null=True, blank=True, on_delete=models.PROTECT, related_name="participants")
    condition = models.CharField(max_length=8, choices=Feedback.choices, blank=True,
                                 help_text="The study's feedback arm; blank outside a study (the set's feedback).")
    language = models.CharField(max_length=8, blank=True)
    consent_version = models.ForeignKey(ConsentVersion, null=True, blank=True, on_delete=models.PROTECT,
                                        related_name="participants")
    consented_at = models.DateTimeField(null=True, blank=True)
    panel_id = models.CharField(max_length=128, blank=True, help_text="PROLIFIC_PID, workerId, ...; purged "
                                "after the study's retention_days.")
    panel_data = models.JSONField(default=dict, blank=True, help_text="The panel's other ids (study, session, "
                                  "assignment, HIT, turkSubmitTo); purged with panel_id.")
    practice_position = models.PositiveSmallIntegerField(default=0, help_text="Practice trials done.")
    timed_out = models.PositiveSmallIntegerField(default=0, help_text="Trials whose time limit ran out.")

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["study", "panel_id"], condition=~Q(panel_id=""),
                                               name="one_participant_per_panel_id")]
        indexes = [models.Index(fields=["study", "condition", "turing_set"])]

    def __str__(self) -> str:
        return self.public_id

    @property
    def total(self) -> int:
        return len(self.order)

    @property
    def finished(self) -> bool:
        return self.finished_at is not None

    @property
    def feedback(self) -> str:
        """When this participant is shown the truth: their study arm, else their set's feedback mode."""
        return self.condition or self.turing_set.feedback

    @property
    def flag_reasons(self) -> list[str]:
        """Why the participant is flagged, in words for researchers (empty when they are not)."""
        if not self.flagged:
            return []
        reasons = [(self.catch_failed, "catch test pattern called real"),
                   (self.attention_failed, "repeated image answered differently"),
                   (self.fast_answers, "answer faster than the time limit")]
        return [f"{n} {text}" for n, text in reasons if n]


class Showing(models.Model):
    """One trial of one participant: the image it shows, under a token that only this trial has."""

    participant = models.ForeignKey(Participant, on_delete=models.CASCADE, related_name="showings")
    position = models.PositiveSmallIntegerField(help_text="Trial index, from 0.")
    image = models.ForeignKey(TuringImage, on_delete=models.PROTECT, related_name="+")
    token = models.CharField(max_length=32, unique=True)

    class Meta:
        ordering = ["participant", "position"]
        constraints = [models.UniqueConstraint(fields=["participant", "position"], name="one_showing_per_trial")]

    def __str__(self) -> str:
        return self.token


class StartLog(models.Model):
    """A new test started from a network: its address as a keyed HMAC (never the address, never a plain
    hash), deleted once it is older than the rate limit's window."""

    key = models.CharField(max_length=64)
    created_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["key", "created_at"]), models.Index(fields=["created_at"])]

    def __str__(self) -> str:
        return f"{self.key[:12]} at {self.created_at:%Y-%m-%d %H:%M:%S}"


class Answer(models.Model):
    participant = models.ForeignKey(Participant, on_delete=models.PROTECT, related_name="answers")
    image = models.ForeignKey(TuringImage, on_delete=models.PROTECT, related_name="answers")
    position = models.PositiveSmallIntegerField(help_text="Trial index, from 0.")
    repeat = models.BooleanField(default=False, help_text="The attention check's second showing.")
    answer = models.CharField(max_length=10, choices=Truth.choices, blank=True,
                              help_text="Blank when the trial timed out.")
    timed_out = models.BooleanField(default=False, help_text="The time limit ran out before an answer.")
    confidence = models.PositiveSmallIntegerField(null=True, blank=True)
    response_ms = models.PositiveIntegerField()
    fast = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["participant", "position"]
        constraints = [
            models.UniqueConstraint(fields=["participant", "image", "repeat"], name="one_answer_per_image"),
            models.UniqueConstraint(fields=["participant", "position"], name="one_answer_per_trial"),
            models.CheckConstraint(condition=Q(confidence__isnull=True) | Q(confidence__gte=1, confidence__lte=3),
                                   name="confidence_1_to_3"),
            models.CheckConstraint(condition=Q(timed_out=True, answer="") | (Q(timed_out=False) & ~Q(answer="")),
                                   name="answer_given_unless_timed_out"),
        ]

    def __str__(self) -> str:
        return f"{self.participant_id} #{self.position}: {self.answer}"

    @property
    def correct(self) -> bool:
        return not self.timed_out and self.answer == self.image.truth
