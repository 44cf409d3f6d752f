"""The back office in each operator's language; everything else in English.

An operator picks a language from any back-office page; the choice is kept with the
operator (the same on every computer) and in the browser (for the login page). Whoever
has not picked gets BACK_OFFICE_LANGUAGE. The register API, the probes and the metrics
always speak English: a register reads the seed's messages, whatever its request asks.
"""

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils import translation
from django.utils.cache import patch_vary_headers
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from payments.models import OperatorLanguage

BACK_OFFICE = "/admin/"
KNOWN = {code for code, _ in settings.LANGUAGES}


def language_of(request: HttpRequest) -> str:
    """The operator's own language, else the browser's last choice, else the default."""
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        chosen = OperatorLanguage.objects.filter(user=user).values_list("language", flat=True)
        for language in chosen:
            if language in KNOWN:
                return language
    cookie = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
    return cookie if cookie in KNOWN else settings.LANGUAGE_CODE


class LanguageMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        back_office = request.path_info.startswith(BACK_OFFICE)
        language = language_of(request) if back_office else "en"
        translation.activate(language)
        request.LANGUAGE_CODE = language
        response = self.get_response(request)
        if back_office:
            response.headers.setdefault("Content-Language", language)
            patch_vary_headers(response, ["Cookie"])
        return response


@require_POST
def choose(request: HttpRequest) -> HttpResponse:
    """Keep the language picked (with the operator, if logged in) and go back."""
    language = request.POST.get("language", "")
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(back, {request.get_host()}, request.is_secure()):
        back = reverse("admin:index")
    response = HttpResponseRedirect(back)
    if language not in KNOWN:
        return response
    if request.user.is_authenticated:
        OperatorLanguage.objects.update_or_create(
            user=request.user, defaults={"language": language}
        )
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        language,
        max_age=settings.LANGUAGE_COOKIE_AGE,
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
        samesite="Lax",
    )
    return response
