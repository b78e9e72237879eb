from django.apps import AppConfig


class SetupConfig(AppConfig):
    """The first hour: /setup/ (what is configured, what is missing), importing from the browser, the guides."""

    name = "setup"
    verbose_name = "Setup"
