"""Dates and times as the back office writes them: Django's own formats for each language,
with the seconds added, because an operator matches a payment to a register's log or a
provider's cabinet to the second. (settings.FORMAT_MODULE_PATH points here.)"""
