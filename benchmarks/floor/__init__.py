"""The floor: the least a Django + DRF service must do to take a charge (validate, insert a
row, call the provider once through a pooled session, update the row, answer). The charge
benchmark runs it beside the service, under the same gunicorn and PostgreSQL, to show what
the framework itself costs."""
