"""The Monitor stream: days of events ordered by ingestion time, cursors and pages.

An *event day* holds the events whose timestamp falls in that UTC day. An
*ingestion bucket* holds the events *ingested* during a UTC day: the day's own
events ingested before midnight plus the previous day's late arrivals (an
event at 23:59:30 ingested at 00:03 belongs to the next bucket), plus the
second copies of the few events delivered twice. A stream position is
(bucket day, index in the bucket); the opaque cursor spells it as
``aa_<.NET ticks of the bucket day>_<.NET ticks of the last ingestion>_<index>``.

Days and buckets are cached (LRU) so paging through a day generates it once.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np

from dsassets.simulator.activity import duplicates, finish, organic_day
from dsassets.simulator.events import EventBatch, render_json
from dsassets.simulator.ids import (
    DOTNET_EPOCH_TICKS,
    TICKS_PER_DAY,
    TICKS_PER_SECOND,
    day_start,
    ticks_to_day,
    to_ticks,
)
from dsassets.simulator.incidents import Incident, Planter
from dsassets.simulator.world import World

MAX_LIMIT = 2000
DEFAULT_LIMIT = 1000


class CursorError(ValueError):
    """The cursor is neither an ISO timestamp nor one this stream issued."""


@dataclass
class Bucket:
    """Events ingested during one UTC day, in ingestion order."""

    day: int
    ingest: np.ndarray  # ticks, sorted
    source: np.ndarray  # 0 = previous event day, 1 = this event day
    row: np.ndarray  # row in that day's batch


class _LRU:
    def __init__(self, size: int):
        self.size = size
        self.data: OrderedDict = OrderedDict()

    def get(self, key):
        if key in self.data:
            self.data.move_to_end(key)
            return self.data[key]
        return None

    def put(self, key, value) -> None:
        self.data[key] = value
        self.data.move_to_end(key)
        while len(self.data) > self.size:
            self.data.popitem(last=False)

    def get_or_make(self, key, make):
        """The cached value, else ``make()``'s, remembered (callers hold the store's lock)."""
        found = self.get(key)
        if found is None:
            found = make()
            self.put(key, found)
        return found


class EventStore:
    """Generates, caches and serves the stream (thread-safe)."""

    def __init__(self, world: World, *, day_cache: int = 4, bucket_cache: int = 3):
        self.world = world
        self.planter = Planter(world)
        self._days = _LRU(day_cache)
        self._buckets = _LRU(bucket_cache)
        self._incidents = _LRU(64)
        self._lock = threading.RLock()

    # -- generation ----------------------------------------------------------------------------

    def incidents(self, day: int) -> list[Incident]:
        with self._lock:
            return self._incidents.get_or_make(day, lambda: self.planter.incidents(day))

    def day(self, day: int) -> EventBatch:
        """All events with a timestamp on ``day``, sorted by timestamp, lags assigned."""
        with self._lock:
            return self._days.get_or_make(day, lambda: self._generate(day))

    def _generate(self, day: int) -> EventBatch:
        suppress = []
        for d in (day - 1, day, day + 1):
            for inc in self.incidents(d):
                suppress.extend(inc.suppress)
        organic = organic_day(self.world, day, suppress)
        planted = [inc.events for inc in self.incidents(day)]
        batch = EventBatch.concat(day, [organic, *planted])
        batch = finish(batch, self.world.seed, self.world.config.late_share)
        late = [inc.events.cols["idkey"] for inc in self.incidents(day)
                if inc.policy in self.world.config.late_policies and not inc.is_decoy]
        if late:
            rows = np.isin(batch.cols["idkey"], np.concatenate(late))
            rng = np.random.default_rng([self.world.seed & 0xFFFFFFFF, day & 0xFFFFFFFF, 5])
            ingest = day_start(day + 1) + rng.integers(3600, 3 * 3600, int(rows.sum())) * TICKS_PER_SECOND
            batch.cols["lag"][rows] = ingest - batch.cols["ts"][rows]
        return batch

    def bucket(self, day: int) -> Bucket:
        with self._lock:
            return self._buckets.get_or_make(day, lambda: self._build_bucket(day))

    def _build_bucket(self, day: int) -> Bucket:
        lo, hi = day_start(day), day_start(day + 1)
        parts_ingest, parts_source, parts_row = [], [], []
        for source, d in ((0, day - 1), (1, day)):
            batch = self.day(d)
            ingest = batch.cols["ts"] + batch.cols["lag"]
            rows = np.arange(len(batch))
            dup_rows, dup_extra = duplicates(batch, self.world.seed)
            ingest = np.concatenate([ingest, ingest[dup_rows] + dup_extra])
            rows = np.concatenate([rows, dup_rows])
            keep = (ingest >= lo) & (ingest < hi)
            parts_ingest.append(ingest[keep])
            parts_row.append(rows[keep])
            parts_source.append(np.full(int(keep.sum()), source, dtype=np.int8))
        ingest = np.concatenate(parts_ingest)
        order = np.argsort(ingest, kind="stable")
        return Bucket(day, ingest[order], np.concatenate(parts_source)[order], np.concatenate(parts_row)[order])

    # -- cursors -------------------------------------------------------------------------------

    @staticmethod
    def encode(day: int, index: int, last_ingest: int) -> str:
        return f"aa_{day_start(day) + DOTNET_EPOCH_TICKS}_{last_ingest + DOTNET_EPOCH_TICKS}_{index}"

    def decode(self, cursor: str, now_ticks: int) -> tuple[int, int]:
        """(bucket day, index) for an ISO timestamp or an issued cursor."""
        m = re.fullmatch(r"aa_(\d+)_(\d+)_(\d+)", cursor.strip())
        if m:
            start = int(m.group(1)) - DOTNET_EPOCH_TICKS
            if start % TICKS_PER_DAY:
                raise CursorError(f"cursor {cursor!r} was not issued by this stream")
            return int(ticks_to_day(start)), int(m.group(3))
        t = parse_iso(cursor)
        day = int(ticks_to_day(t))
        b = self.bucket(day)
        return day, int(np.searchsorted(b.ingest, t, side="left"))

    # -- pages ---------------------------------------------------------------------------------

    def page(self, cursor: str | None, limit: int, now_ticks: int) -> tuple[str, list[str]]:
        """``(endCursor, events as JSON texts)`` from ``cursor``; at the end, the cursor sent and none."""
        sent = cursor
        if not cursor:
            cursor = _iso(now_ticks - 7 * TICKS_PER_DAY)
        day, index = self.decode(cursor, now_ticks)
        pieces: list[tuple[Bucket, int, int]] = []
        taken = 0
        last_ingest = 0
        while taken < limit and day_start(day) <= now_ticks:
            b = self.bucket(day)
            available = int(np.searchsorted(b.ingest, now_ticks, side="left"))
            n = min(limit - taken, max(0, available - index))
            if n > 0:
                pieces.append((b, index, index + n))
                last_ingest = int(b.ingest[index + n - 1])
                index += n
                taken += n
            if index >= len(b.ingest) and day_start(day + 1) <= now_ticks:
                day, index = day + 1, 0
                continue
            break
        if not pieces:
            return (sent if sent else cursor), []
        return self.encode(day, index, last_ingest), self._render(pieces)

    def _render(self, pieces: list[tuple[Bucket, int, int]]) -> list[str]:
        w = self.world
        cols_parts: dict[str, list[np.ndarray]] = {}
        days_parts = []
        extras: dict = {}
        literals: dict = {}
        for b, i0, i1 in pieces:
            src, rows = b.source[i0:i1], b.row[i0:i1]
            out_cols: dict[str, np.ndarray] = {}
            days = np.where(src == 0, b.day - 1, b.day)
            for source, d in ((0, b.day - 1), (1, b.day)):
                mask = src == source
                if not mask.any():
                    continue
                batch = self.day(d)
                for k, v in batch.cols.items():
                    if k not in out_cols:
                        out_cols[k] = np.empty(i1 - i0, dtype=v.dtype)
                    out_cols[k][mask] = v[rows[mask]]
                for key, val in batch.extras.items():
                    extras[(d, key)] = val
                for key, val in batch.literal_ips.items():
                    literals[(d, key)] = val
            for k, v in out_cols.items():
                cols_parts.setdefault(k, []).append(v)
            days_parts.append(days)
        cols = {k: np.concatenate(v) for k, v in cols_parts.items()}
        days = np.concatenate(days_parts)
        account_ids = [a.id for a in w.accounts]
        keys = [i.integrator_key for i in w.integrations]
        return render_json(w.seed, w.organization_id, account_ids, keys, cols, days, extras, literals)


_ISO = re.compile(r"(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?)?\s*(Z|z|[+-]\d{2}:?\d{2})?")


def parse_iso(text: str) -> int:
    """Ticks of an ISO-8601 timestamp (date only, any fraction, ``Z`` / offset / naive = UTC)."""
    m = _ISO.fullmatch(text.strip())
    if not m:
        raise CursorError(f"cursor {text!r} is neither an ISO timestamp nor a stream cursor")
    y, mo, d, h, mi, s, frac, zone = m.groups()
    try:
        moment = datetime(int(y), int(mo), int(d), int(h or 0), int(mi or 0), int(s or 0), tzinfo=UTC)
    except ValueError:
        raise CursorError(f"cursor {text!r} is not a valid date") from None
    ticks = to_ticks(moment) + int((frac or "0")[:7].ljust(7, "0"))
    if zone and zone not in ("Z", "z"):
        sign = -1 if zone[0] == "-" else 1
        digits = zone[1:].replace(":", "")
        ticks -= sign * (int(digits[:2]) * 3600 + int(digits[2:]) * 60) * TICKS_PER_SECOND
    return ticks


def _iso(ticks: int) -> str:
    from dsassets.simulator.ids import to_datetime

    return to_datetime(ticks).strftime("%Y-%m-%dT%H:%M:%SZ")
