"""OpenAPI post-processing and the server-rendered docs page (no third-party JS or CSS)."""

from __future__ import annotations

from functools import lru_cache

STAFF_ONLY_TICKET_FIELDS = (
    "tags",
    "team",
    "assignee",
    "customer",
    "organization",
    "tier",
    "restricted",
    "is_emergency",
    "sla_due_at",
)
HTTP_METHODS = ("get", "post", "put", "patch", "delete")


# Component name -> (description, fields customers do not receive). Other apps add theirs with
# ``schema_staff_only_register`` when their API module is imported (from their AppConfig.ready).
_STAFF_ONLY: dict[str, tuple[str, tuple[str, ...]]] = {
    "StaffTicket": ("A ticket. Customers receive it without the fields marked staff only.", STAFF_ONLY_TICKET_FIELDS),
}


def schema_staff_only_register(*, component: str, description: str, fields: tuple[str, ...]) -> None:
    """A response documented with its staff serializer, of which customers receive a subset: those fields are
    documented as optional and marked "Staff only."."""
    _STAFF_ONLY[component] = (description, tuple(fields))


def mark_staff_only_fields(result, generator, request, public):
    """Customers receive a subset of some resources: the staff-only fields are documented as optional, and say so."""
    from helpdesk.api.registry import api_ticket_fields

    schemas = result.get("components", {}).get("schemas", {})
    # Fields other apps add to the staff view of a ticket (``api_ticket_fields_register``) are staff only too.
    added = tuple(name for entry in api_ticket_fields() for name in entry.fields())
    for component, (description, fields) in _STAFF_ONLY.items():
        schema = schemas.get(component)
        if not schema:
            continue
        if component == "StaffTicket":
            fields = (*fields, *added)
        schema["required"] = [name for name in schema.get("required", []) if name not in fields]
        schema["description"] = description
        for name in fields:
            prop = schema["properties"].get(name)
            if prop is not None:
                prop["description"] = ((prop.get("description") or "") + " Staff only.").strip()
    return result


@lru_cache(maxsize=1)
def api_schema() -> dict:
    from drf_spectacular.generators import SchemaGenerator

    return SchemaGenerator().get_schema(request=None, public=True)


def api_operations() -> list[dict]:
    """Every operation of the schema, in path order, for the docs page."""
    schema = api_schema()
    operations = []
    for path, item in schema["paths"].items():
        for method in HTTP_METHODS:
            op = item.get(method)
            if op is None:
                continue
            body = op.get("requestBody", {}).get("content", {}).get("application/json", {})
            operations.append(
                {
                    "method": method.upper(),
                    "path": path,
                    "summary": op.get("summary", ""),
                    "description": op.get("description", ""),
                    "parameters": [
                        {
                            "name": p["name"],
                            "in": p["in"],
                            "required": p.get("required", False),
                            "description": p.get("description", ""),
                        }
                        for p in op.get("parameters", [])
                    ],
                    "request": (body.get("schema") or {}).get("$ref", "").rsplit("/", 1)[-1],
                    "responses": sorted(op.get("responses", {}).items()),
                    "auth": "session or token" if any(op.get("security") or []) else "none",
                }
            )
    return operations
