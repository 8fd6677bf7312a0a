"""What the tests of the action pages (certificate, participant admin, governance) share: a
form's hidden fields by its action, posting it as a browser does, and the refusal on a page."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from httpx import Response
from web_checks import hidden_fields


def form(html: str, action: str) -> dict[str, str]:
    """The hidden fields of the page's form that posts to `action`."""
    start = html.find(f'action="{action}"')
    assert start >= 0, f"no form posting to {action} on the page"
    end = html.find("</form>", start)
    return dict(hidden_fields(html[start:end]))


def has_form(html: str, action: str) -> bool:
    return f'action="{action}"' in html


def submit(visitor: TestClient, page: str, target: str, /, **values: str) -> Response:
    """Opens `page`, then posts its form to `target` with its hidden fields and `values`."""
    opened = visitor.get(page)
    assert opened.status_code == 200, opened.text
    return visitor.post(target, data={**form(opened.text, target), **values})


def refused_text(html: str) -> str:
    """The text of the page's refusal notice (tags removed)."""
    match = re.search(r'<div class="notice error" role="alert"[^>]*>(.*?)</div>', html, re.S)
    assert match, "no refusal on the page"
    return " ".join(re.sub(r"<[^>]+>", " ", match.group(1)).split())
