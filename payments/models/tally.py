"""Past days' payments counted once, for the overview's charts.

Counting thirty days of a busy chain on every look at the overview reads a million rows;
a past day changes rarely (a late outcome, a receipt sent the next morning, an operator's
repair), so it is counted once into a few rows here and counted again only after one of
its payments changed. Today is always counted live.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class CountedDay(models.Model):
    """One past day (Tashkent time) and when its payments were counted and last changed.

    The day's tallies are current when they were counted after its last change: a change
    marks the day after the change committed, and a count takes its time before it reads,
    so a change the count missed is always marked later than the count.
    """

    day = models.DateField(_("day"), primary_key=True)
    counted_at = models.DateTimeField(_("counted at"), null=True)
    changed_at = models.DateTimeField(_("changed at"), null=True)

    class Meta:
        verbose_name = _("counted day")
        verbose_name_plural = _("counted days")

    def __str__(self) -> str:
        return str(self.day)

    @property
    def is_current(self) -> bool:
        if self.counted_at is None:
            return False
        return self.changed_at is None or self.changed_at < self.counted_at


class DayTally(models.Model):
    """The payments of one past day with one provider, operation (a purchase or a refund),
    status and fiscal status."""

    day = models.ForeignKey(CountedDay, on_delete=models.CASCADE, related_name="tallies")
    provider = models.CharField(_("provider"), max_length=16)
    operation = models.CharField(_("operation"), max_length=16, default="purchase")
    status = models.CharField(_("status"), max_length=16)
    fiscal_status = models.CharField(_("fiscal status"), max_length=16)
    payments = models.PositiveIntegerField(_("payments"))
    amount = models.BigIntegerField(_("amount"), help_text=_("In tiyin."))

    class Meta:
        verbose_name = _("day's tally")
        verbose_name_plural = _("days' tallies")
        constraints = [
            models.UniqueConstraint(
                fields=["day", "provider", "operation", "status", "fiscal_status"],
                name="one_tally_per_kind",
            )
        ]

    def __str__(self) -> str:
        return f"{self.day_id} {self.provider} {self.status} {self.fiscal_status}"
