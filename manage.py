#!/usr/bin/env python
"""Django's command-line utility; configuration problems print one clear line, not a traceback."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "console.settings")
    from django.core.exceptions import ImproperlyConfigured

    try:
        from django.core.management import execute_from_command_line

        execute_from_command_line(sys.argv)
    except ImproperlyConfigured as exc:
        sys.stderr.write(f"error: configuration: {exc}\n")
        sys.exit(2)


if __name__ == "__main__":
    main()
