from django.urls import path

from benchmarks.floor.views import charge

urlpatterns = [path("payment/click", charge)]
