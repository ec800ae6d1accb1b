"""Monitor pages built from event dicts, decoded exactly as the client decodes a page it read."""

from __future__ import annotations

import orjson

from dsassets.lib.clients.monitor_page import MonitorPage


def monitor_page(events: list, cursor: str, end_cursor: str) -> MonitorPage:
    """A page whose records are ``events`` as compact JSON (what DocuSign sends)."""
    return MonitorPage.decode([orjson.dumps(e) for e in events], cursor, end_cursor)
