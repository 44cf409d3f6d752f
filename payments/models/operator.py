"""What an operator of the back office keeps between sessions."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class OperatorLanguage(models.Model):
    """The language an operator picked for the back office."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="+",
        primary_key=True,
        verbose_name=_("operator"),
    )
    language = models.CharField(_("language"), max_length=8, choices=settings.LANGUAGES)

    class Meta:
        verbose_name = _("operator's language")
        verbose_name_plural = _("operators' languages")

    def __str__(self) -> str:
        return f"{self.user}: {self.language}"
