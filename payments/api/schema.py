"""OpenAPI generation tweaks."""

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension


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
