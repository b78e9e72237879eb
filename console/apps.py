from django.apps import AppConfig


class ConsoleConfig(AppConfig):
    name = "console"

    def ready(self) -> None:
        from .requests import harden_admin, register_bounded_int

        register_bounded_int()  # before any URL module is read
        harden_admin()
