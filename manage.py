#!/usr/bin/env python
"""Django's command-line utility for this service."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    # Metric files are gunicorn's workers' (config/gunicorn.py): a command counts in its own
    # memory, or each run of a timer would leave files there until the service restarts.
    os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
    # What `make run` left for the commands run beside it (config/settings.py says when
    # it is read); a test deployment names another place.
    here = os.path.dirname(os.path.abspath(__file__))
    os.environ.setdefault("LOCAL_RUN_ENV", os.path.join(here, ".run", "local.env"))
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
