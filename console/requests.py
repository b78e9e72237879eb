"""What every request is checked for before any view sees it: NUL bytes, and ids no database can hold.

* PostgreSQL text cannot hold NUL (U+0000): a NUL in a search box, a filter, a skip reason or a cookie would
  reach a query and fail it (a 500). `NulBytesMiddleware` removes NUL from query strings, form fields and
  cookies, and refuses a path holding one.
* The admin's add page takes initial values from the query string (``?user=3``), and its autocomplete widgets
  look up whatever value a form sent back: a value that is not an id of the related model crashed the page
  (a ValueError in the lookup). `harden_admin` drops such values in both places, for every ModelAdmin.
* ``<int:…>`` in a URL matched any number of digits, and an id past 64 bits failed the query (an overflow in
  SQLite, "out of range" in PostgreSQL). `BoundedIntConverter` takes its place: more than a bigint can hold
  is no match, so a 404.
"""

from __future__ import annotations

import warnings

from django.http import HttpResponseBadRequest, QueryDict
from django.urls import register_converter

BIGINT_MAX = 2 ** 63 - 1


class BoundedIntConverter:
    """Like Django's int converter, but only what a signed 64-bit id column can hold."""

    regex = "[0-9]{1,19}"

    def to_python(self, value: str) -> int:
        number = int(value)
        if number > BIGINT_MAX:
            raise ValueError("beyond a 64-bit id")  # the resolver tries the next pattern, then answers 404
        return number

    def to_url(self, value) -> str:
        return str(value)


def register_bounded_int() -> None:
    """Make ``<int:…>`` bounded in every app's URLs (called before any URL module is read).

    Overriding a built-in converter is deprecated in Django 5.2 (removed in 6.0); until then it is the one way to
    bound every ``<int:…>`` other apps write. On Django 6, register this as "id" and write ``<id:…>``.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        register_converter(BoundedIntConverter, "int")


def _without_nul(data: QueryDict) -> QueryDict:
    if not any("\x00" in key or any("\x00" in v for v in values) for key, values in data.lists()):
        return data
    clean = QueryDict(mutable=True, encoding=data.encoding)
    for key, values in data.lists():
        clean.setlist(key.replace("\x00", ""), [v.replace("\x00", "") for v in values])
    clean._mutable = False
    return clean


class NulBytesMiddleware:
    """NUL removed from query strings, form fields and cookies; a path holding one is a 400.

    The REST API (/api/) checks its own input and answers a NUL with a 400 that says so, which is clearer to a
    script than a silently changed value: it is left alone here.
    """

    FORMS = ("application/x-www-form-urlencoded", "multipart/form-data")
    OWN_CHECKS = ("/api/",)

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        if request.path_info.startswith(self.OWN_CHECKS):
            return self.get_response(request)
        if "\x00" in request.path_info:
            return HttpResponseBadRequest("A web address cannot hold a NUL character.", content_type="text/plain")
        request.GET = _without_nul(request.GET)
        if any("\x00" in k or "\x00" in v for k, v in request.COOKIES.items()):
            request.COOKIES = {k.replace("\x00", ""): v.replace("\x00", "") for k, v in request.COOKIES.items()}
        if request.method == "POST" and request.content_type in self.FORMS:
            request.POST = _without_nul(request.POST)
        return self.get_response(request)


def harden_admin() -> None:
    """Admin pages ignore related-field values that are not valid ids (see the module doc)."""
    from django.contrib.admin import ModelAdmin
    from django.contrib.admin.widgets import AutocompleteMixin
    from django.core.exceptions import FieldDoesNotExist, ValidationError

    optgroups = AutocompleteMixin.optgroups
    if not getattr(optgroups, "hardened", False):
        def valid_optgroups(self, name, value, attr=None):
            target = self.field.target_field
            kept = []
            for one in value:
                try:
                    target.to_python(one)
                except (ValidationError, ValueError, TypeError):
                    continue
                kept.append(one)
            return optgroups(self, name, kept, attr)

        valid_optgroups.hardened = True
        AutocompleteMixin.optgroups = valid_optgroups

    original = ModelAdmin.get_changeform_initial_data
    if getattr(original, "hardened", False):
        return

    def get_changeform_initial_data(self, request):
        initial = original(self, request)
        for name, value in list(initial.items()):
            try:
                field = self.model._meta.get_field(name)
            except FieldDoesNotExist:
                continue
            if not field.is_relation or field.target_field is None:
                continue
            try:
                for one in value if isinstance(value, list) else [value]:
                    field.target_field.to_python(one)
            except (ValidationError, ValueError, TypeError):
                del initial[name]
        return initial

    get_changeform_initial_data.hardened = True
    ModelAdmin.get_changeform_initial_data = get_changeform_initial_data
