"""A refusal from the center as the command line receives it (:class:`ApiError`), apart from
the HTTP client so that every command can name it without loading the client."""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """A refusal from the center, with its catalog code, texts and remedy."""

    def __init__(self, status: int, problem: dict[str, Any]) -> None:
        self.status = status
        self.problem = problem
        self.code = str(problem.get("code", "UNKNOWN"))
        super().__init__(f"{self.code} (HTTP {status})")

    def text(self, locale: str = "ko") -> str:
        def pick(field: str) -> str:
            value = self.problem.get(field) or {}
            return (
                str(value.get(locale) or value.get("en") or "") if isinstance(value, dict) else ""
            )

        labels = ("원인", "해결 방법") if locale == "ko" else ("Cause", "What to do")
        return (
            f"[{self.code}] {pick('message')}\n  {labels[0]}: {pick('cause')}\n"
            f"  {labels[1]}: {pick('remedy')}"
        )
