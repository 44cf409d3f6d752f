"""The OpenAPI schema as integrators read it: every answer an endpoint can give (the
envelope with the error codes that endpoint uses, at each HTTP status), the field patterns
the serializers enforce, and the aliases they accept. A fuzz run against the running
service holds the schema to it (tests/fuzz)."""

import re
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from drf_spectacular.extensions import (
    OpenApiAuthenticationExtension,
    OpenApiSerializerFieldExtension,
)
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers

from payments.api import serializers as inputs
from payments.api.serializers import ErrorOutput, OfdReceiptUrlField
from payments.errors import ERROR_MESSAGES, ErrorCode


def paths_without_trailing_slash(endpoints: list[tuple], **kwargs: Any) -> list[tuple]:
    """Every route answers with and without the slash; document the seed's form, without."""
    return [(path.rstrip("/") or "/", *rest) for path, *rest in endpoints]


class RegisterKeyScheme(OpenApiAuthenticationExtension):
    """How a register proves who it is, as the schema tells integrators."""

    target_class = "payments.api.authentication.RegisterAuthentication"
    name = "registerKey"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": (
                "A register's API key: `Authorization: Bearer <key>`. A register bound to "
                "source networks may instead call without a key from those networks. "
                "Neither: code 111, HTTP 401."
            ),
        }


# --- answers ------------------------------------------------------------------------------


# The error codes of each error component, written in by `document_components` (after
# drf-spectacular's own enum pass, which would name these many small enums badly).
_ERROR_CODES: dict[str, list[int]] = {}
# What each component means to a register, by component name (the schema would show the
# serializers' docstrings, written for us).
_ABOUT: dict[str, str] = {}


def _envelope(name: str, data: serializers.Field | None, codes: Iterable[ErrorCode]) -> type:
    """An envelope whose error, when there is one, carries one of `codes`."""
    numbers = sorted(int(code) for code in codes)
    meanings = ", ".join(
        f"{code} {ERROR_MESSAGES.get(ErrorCode(code), 'VALIDATION')}" for code in numbers
    )
    code = serializers.IntegerField(help_text=f"One of: {meanings}.")
    error = type(f"{name}Error", (ErrorOutput,), {"code": code})
    _ERROR_CODES[error.__name__] = numbers
    _ABOUT[error.__name__] = ErrorOutput.about
    _ABOUT[f"{name}Envelope"] = "Every answer: `data` on success, else `error` with its code."
    fields = {
        "error": error(allow_null=True, help_text="null when is_success is true."),
        "is_success": serializers.BooleanField(help_text="true exactly when error is null."),
    }
    fields["data"] = data or serializers.JSONField(allow_null=True, help_text="Always null.")
    return type(f"{name}Envelope", (serializers.Serializer,), fields)


UNAUTHORIZED = _envelope("Unauthorized", None, [ErrorCode.UNAUTHORIZED])
INTERNAL = _envelope("InternalError", None, [ErrorCode.INTERNAL])
NOT_FOUND = _envelope("NotFound", None, [ErrorCode.NOT_FOUND])
METHOD_NOT_ALLOWED = _envelope("MethodNotAllowed", None, [ErrorCode.METHOD_NOT_ALLOWED])


def answers(
    output: type[serializers.Serializer],
    codes: Iterable[ErrorCode],
    *,
    not_found: bool = False,
    name: str = "",
) -> dict[int, OpenApiResponse]:
    """Every answer of an endpoint: HTTP 200 for every outcome a register acts on (its data,
    or an error with one of `codes`), 401 (code 111) for a caller who is not a register,
    500 (code 103) for our own failure; 404 where the path carries a value. `name` names
    the envelope where another endpoint's with the same data has other codes."""
    name = name or output.__name__.removesuffix("Output")
    data = output(allow_null=True, help_text="null when is_success is false.")
    documented = {
        200: OpenApiResponse(
            _envelope(name, data, codes),
            description="The outcome: `is_success` with `data`, or `error` with its code.",
        ),
        401: OpenApiResponse(
            UNAUTHORIZED,
            description="Not a register: `error.data.reason` is no_key, unknown_or_revoked_key, "
            "register_inactive or network_not_allowed.",
        ),
        405: OpenApiResponse(
            METHOD_NOT_ALLOWED, description="Another method than this path takes (see Allow)."
        ),
        500: OpenApiResponse(INTERNAL, description="Our own failure; the request id is in data."),
    }
    if not_found:
        documented[404] = OpenApiResponse(NOT_FOUND, description="The path names nothing.")
    return documented


# --- fields -------------------------------------------------------------------------------


class OfdReceiptUrlScheme(OpenApiSerializerFieldExtension):
    """A receipt URL: https, on an OFD host the settings allow, at a receipt path."""

    target_class = OfdReceiptUrlField

    def map_serializer_field(self, auto_schema: Any, direction: str) -> dict[str, Any]:
        schema = auto_schema._map_serializer_field(self.target, direction, bypass_extensions=True)
        hosts = "|".join(re.escape(host) for host in settings.OFD_ALLOWED_HOSTS)
        paths = "|".join(re.escape(path) for path in settings.OFD_RECEIPT_PATHS)
        schema.update(format="uri", pattern=f"^https://({hosts})(:443)?({paths})\\?")
        return schema


def document_components(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """Write into the components what the serializers cannot say themselves: the error
    codes of each endpoint, the `patterns` the input checks enforce, and the `aliases`
    they accept for a field."""
    components = result["components"]["schemas"]
    for name, component in components.items():
        if "enum" not in component:  # an enum's description lists its values
            component.pop("description", None)
        if name in _ABOUT:
            component["description"] = _ABOUT[name]
    for name, codes in _ERROR_CODES.items():
        if name in components:
            components[name]["properties"]["code"]["enum"] = codes
    for serializer in vars(inputs).values():
        if not (isinstance(serializer, type) and issubclass(serializer, serializers.Serializer)):
            continue
        about = getattr(serializer, "about", "")
        for named in (serializer.__name__, f"{serializer.__name__}Request"):
            if about and named in components:
                components[named]["description"] = about
        component = components.get(f"{serializer.__name__}Request")
        if component is None:
            continue
        properties = component["properties"]
        for field, pattern in getattr(serializer, "patterns", {}).items():
            properties[field]["pattern"] = pattern
        names: dict[str, list[str]] = {}
        for alias, field in getattr(serializer, "aliases", {}).items():
            properties[alias] = {
                **properties[field],
                "description": f"Accepted in place of `{field}` (which wins when both come).",
            }
            names.setdefault(field, [field]).append(alias)
        required = component.get("required", [])
        for field, either in names.items():
            if field in required:  # one of its names must come
                required.remove(field)
                component.setdefault("allOf", []).append(
                    {"anyOf": [{"required": [name]} for name in either]}
                )
        if "required" in component and not required:
            del component["required"]
    return result
