"""The operators' back office: find a payment, see everything that happened to it, fix it.

Payments and journal rows are read-only here; only the actions change them, each through
the operations service (the same services the commands use), each behind its own
permission, confirmed with a reason and written to the audit trail.

- `base`: the view-only admin and inline every page here builds on
- `listing`: the date-range filter, the search and the paginator of the payment list
- `story`: a payment's timeline, journal and operators' actions as one time line
- `actions`: the operator actions and their confirmation form
- `views`: the overview and the CSV export
- `payment`, `audit`: the registered admins
- `registers`: registers, their keys (issued and shown once, revoked) and provider accounts
"""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from payments.admin.audit import OperatorActionAdmin
from payments.admin.payment import PaymentAdmin
from payments.admin.registers import ProviderAccountAdmin, RegisterAdmin, RegisterKeyAdmin

admin.site.site_header = _("Payments back office")
admin.site.site_title = _("Payments")
admin.site.index_title = _("Payments, registers and their keys")
# The sections are in every page's header (templates/admin/base_site.html): the sidebar
# would take a fifth of a 1366-pixel screen from the payment list.
admin.site.enable_nav_sidebar = False
# No "View site" link: the service has no site of its own, only the register API.
admin.site.site_url = None

__all__ = [
    "OperatorActionAdmin",
    "PaymentAdmin",
    "ProviderAccountAdmin",
    "RegisterAdmin",
    "RegisterKeyAdmin",
]
