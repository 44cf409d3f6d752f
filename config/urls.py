from django.contrib import admin
from django.urls import include, path, re_path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from payments.admin import language, views
from payments.api.health import LiveView, ReadyView
from payments.api.metrics import MetricsView
from payments.api.views import UnknownPathView

handler400 = "payments.api.envelope.bad_request"
handler500 = "payments.api.envelope.server_error"

urlpatterns = [
    path("", include("payments.api.urls")),
    re_path(r"^health/live/?$", LiveView.as_view(), name="health-live"),
    re_path(r"^health/ready/?$", ReadyView.as_view(), name="health-ready"),
    re_path(r"^metrics/?$", MetricsView.as_view(), name="metrics"),
    re_path(r"^api/schema/?$", SpectacularAPIView.as_view(), name="schema"),
    re_path(r"^api/docs/?$", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
    path("admin", RedirectView.as_view(url="/admin/")),
    path("admin/language/", language.choose, name="choose-language"),
    # The back office opens on the overview (Django's index stays for who may not see it).
    path("admin/", admin.site.admin_view(views.home)),
    path("admin/", admin.site.urls),
    # Last: whatever nobody routes answers 404 in the envelope, whatever DEBUG says.
    re_path(r"^", UnknownPathView.as_view()),
]
