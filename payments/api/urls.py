"""Register-facing routes. Each path answers with and without its trailing slash."""

from django.urls import re_path

from payments.api import views

urlpatterns = [
    re_path(r"^payment/click/?$", views.ClickChargeView.as_view(), name="click-charge"),
    re_path(r"^payment/click_confirm/?$", views.ClickConfirmView.as_view(), name="click-confirm"),
    re_path(r"^payment/payme/?$", views.PaymeChargeView.as_view(), name="payme-charge"),
    re_path(r"^payment/payme_confirm/?$", views.PaymeConfirmView.as_view(), name="payme-confirm"),
    re_path(r"^payment/uzum/?$", views.UzumChargeView.as_view(), name="uzum-charge"),
    re_path(r"^payment/uzum_confirm/?$", views.UzumConfirmView.as_view(), name="uzum-confirm"),
    re_path(r"^payment/xumo/?$", views.HumoView.as_view(), name="xumo"),
    re_path(r"^payment/xumo_close/?$", views.HumoCloseView.as_view(), name="xumo-close"),
    re_path(
        r"^payment/xumo_shortreport/?$",
        views.HumoShiftReportView.as_view(),
        name="xumo-shortreport",
    ),
    re_path(
        r"^payment/xumo/print_last/?$", views.HumoLastSlipView.as_view(), name="xumo-print-last"
    ),
    re_path(
        r"^payment/xumo_close/print_last/?$",
        views.HumoLastDayReportView.as_view(),
        name="xumo-close-print-last",
    ),
    re_path(r"^payment/refund/?$", views.RefundView.as_view(), name="refund"),
    re_path(
        r"^payment/status/(?P<transaction_id>[^/]+)/?$",
        views.PaymentStatusView.as_view(),
        name="payment-status",
    ),
]
