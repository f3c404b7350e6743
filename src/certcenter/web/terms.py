"""The terms (약관) in full: one text per term a flow asks the customer to accept.

The words live beside every other text, in ``errors/texts.toml``: ``[terms_text.<term>]``
``name`` is the document's title and each ``[terms_text.<term>.<article>]`` an article
(``title``, ``body``), in the file's order. The terms steps of ``/issue`` and ``/joint`` and
``/help/terms`` all render them through ``help/terms_text.html``, so what the customer
accepts and what the help shows are one text.

    document("privacy_collection").articles[0]   # 'terms_text.privacy_collection.items'
    published(settings.policy)                   # every term a flow asks, with those flows
    to_accept(names, t, "issue.terms")           # a terms step's boxes, each with its text
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache
from typing import Any

from certcenter.config import Policy
from certcenter.errors.catalog import texts

PREFIX = "terms_text"


@dataclass(frozen=True)
class TermsDocument:
    """A term's full text: ``name_key`` its title, ``articles`` the text keys of its
    articles (each has ``<key>.title`` and ``<key>.body``)."""

    name: str
    name_key: str
    articles: tuple[str, ...]


@dataclass(frozen=True)
class PublishedTerm:
    """A term as /help/terms lists it: its text and the flows that ask for it."""

    document: TermsDocument
    flows: tuple[str, ...]  # financial | joint | mobile


@cache
def document(name: str) -> TermsDocument | None:
    """The full text of the term ``name``; None for a term without one."""
    start = f"{PREFIX}.{name}."
    name_key = f"{start}name"
    known = texts()
    if name_key not in known:
        return None
    articles = tuple(
        key.removesuffix(".title")
        for key in known
        if key.startswith(start) and key.endswith(".title") and key.count(".") == 3
    )
    return TermsDocument(name=name, name_key=name_key, articles=articles)


def to_accept(
    names: Iterable[str], t: Callable[..., str], label_prefix: str
) -> list[dict[str, Any]]:
    """The terms a step asks to accept, for ``accept_terms`` in ``help/terms_text.html``:
    each with its label (the text ``<label_prefix>.<name>``, or the name where there is none)
    and its full text to open below it."""
    known = texts()
    return [
        {
            "name": n,
            "label": t(f"{label_prefix}.{n}") if f"{label_prefix}.{n}" in known else n,
            "document": document(n),
        }
        for n in names
    ]


def flows_of(policy: Policy) -> dict[str, list[str]]:
    """The terms each flow asks to accept, from the policy."""
    return {
        "financial": list(policy.financial_required_terms),
        "joint": list(policy.joint_required_terms),
        "mobile": list(policy.required_terms),
    }


def published(policy: Policy) -> list[PublishedTerm]:
    """Every term a flow asks to accept, once, in the order the flows first ask it."""
    asked: dict[str, list[str]] = {}
    for flow, names in flows_of(policy).items():
        for name in names:
            asked.setdefault(name, []).append(flow)
    found = []
    for name, flows in asked.items():
        doc = document(name)
        if doc is not None:
            found.append(PublishedTerm(doc, tuple(flows)))
    return found
