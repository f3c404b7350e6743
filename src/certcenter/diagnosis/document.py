"""The checklist as a JSON document, with the catalog's words for every item that has a code.

    checklist_document(center.diagnosis.for_customer(customer_id))
    # {"customer_number": "C004", "ready": false, "problems": [...], "items": [
    #   {"key": "phone_own_name", "status": "problem", "code": "PHONE_NOT_OWN_NAME",
    #    "context": {...}, "message": {"ko": ..., "en": ...}, "cause": {...}, "remedy": {...}}]}

The API answers it, the command line prints it with ``--json``; each entry of a
``recent_failures`` item's ``context.failures`` carries its code's message too.
"""

from __future__ import annotations

from typing import Any

from certcenter.diagnosis.checklist import CheckItem, Checklist
from certcenter.errors import CertCenterError, Term, entry

FIELDS = ("message", "cause", "remedy")


def texts(error: CertCenterError) -> dict[str, dict[str, str]]:
    """message, cause and remedy in both languages, placeholders filled."""
    return {
        field: {
            "ko": error.entry.render(field, "ko", error.context),
            "en": error.entry.render(field, "en", error.context),
        }
        for field in FIELDS
    }


def _plain(value: object) -> object:
    """A context value as JSON: a word in each language (a block's release time in Korean
    time) as ``{"ko": ..., "en": ...}``."""
    if isinstance(value, Term):
        return {"ko": value.text("ko"), "en": value.text("en")}
    return value


def item_document(item: CheckItem) -> dict[str, Any]:
    body: dict[str, Any] = {
        "key": item.key,
        "status": item.status,
        "code": item.code,
        "context": {key: _plain(value) for key, value in item.context.items()},
    }
    error = item.error()
    if error is not None:
        body.update(texts(error))
    if item.key == "recent_failures":
        body["context"]["failures"] = [
            {
                **failure,
                "message": {
                    "ko": entry(failure["code"]).message_ko,
                    "en": entry(failure["code"]).message_en,
                },
            }
            for failure in item.context.get("failures", [])
        ]
    return body


def checklist_document(checklist: Checklist) -> dict[str, Any]:
    return {
        "customer_number": checklist.customer_number,
        "checked_at": checklist.checked_at.isoformat(),
        "ready": checklist.ready,
        "problems": [{"key": i.key, "code": i.code} for i in checklist.problems],
        "items": [item_document(item) for item in checklist.items],
    }
