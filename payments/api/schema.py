"""OpenAPI generation tweaks."""

from typing import Any


def paths_without_trailing_slash(endpoints: list[tuple], **kwargs: Any) -> list[tuple]:
    """Every route answers with and without the slash; document the seed's form, without."""
    return [(path.rstrip("/") or "/", *rest) for path, *rest in endpoints]
