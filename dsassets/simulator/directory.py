"""Who exists at a given moment: DocuSign users and memberships, Entra ID accounts and audits.

A ``Snapshot`` lists, for every seat, its current person (once joined) and the
previous one (long gone: closed in DocuSign, deleted in Entra), with their
lifecycle arrays. The Admin API, the eSignature users list, Microsoft Graph
and ``expected_user_states`` all read the same snapshot, so they agree.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from dsassets.simulator.ids import NEVER, TICKS_PER_DAY, ticks_to_day
from dsassets.simulator.world import (
    ENTRA_RECYCLE_DAYS,
    GAP_DELETE,
    GAP_DISABLE,
    SERVICE,
    TERM_DELETE,
    TERM_DISABLE,
    World,
)

ACTIVE, PARTIAL, DELETED = "active", "partially_active", "deleted"
ENABLED, DISABLED, SOFT_DELETED, GONE, NOT_CREATED = "enabled", "disabled", "deleted", "gone", "absent"


@dataclass
class Snapshot:
    """People listed at ``t`` (ticks), one row each, ordered by seat then tenure."""

    world: World
    t: int
    life: dict[str, np.ndarray]
    open_bits: np.ndarray  # accounts with an open membership at t
    _ids: list[str] | None = None
    _names: list[tuple[str, str, str]] | None = None
    _index: dict[str, int] | None = field(default=None, repr=False)

    def __len__(self) -> int:
        return int(self.life["slot"].shape[0])

    @property
    def user_ids(self) -> list[str]:
        if self._ids is None:
            self._ids = self.world.user_ids(self.life["slot"], self.life["ten"])
        return self._ids

    @property
    def names(self) -> list[tuple[str, str, str]]:
        if self._names is None:
            self._names = self.world.names(self.life["slot"], self.life["ten"])
        return self._names

    def name_of(self, r: int) -> tuple[str, str, str]:
        """(first, last, email) of one row, without naming everyone (pages need a few hundred)."""
        if self._names is not None:
            return self._names[r]
        cache = self.__dict__.setdefault("_name_cache", {})
        found = cache.get(r)
        if found is None:
            found = cache[r] = self.world.names([self.life["slot"][r]], [self.life["ten"][r]])[0]
        return found

    def row_of(self, user_id: str) -> int | None:
        if self._index is None:
            self._index = {uid.lower(): i for i, uid in enumerate(self.user_ids)}
        return self._index.get(user_id.lower())

    def states(self) -> np.ndarray:
        members = self.life["members"]
        return np.where(self.open_bits == 0, DELETED, np.where(self.open_bits == members, ACTIVE, PARTIAL))

    def is_admin(self) -> np.ndarray:
        return self.life["org_admin"] | (self.life["admin"] != 0)

    @property
    def ds_rows(self) -> np.ndarray:
        """Rows DocuSign lists (joined; Entra knows people two days before they join)."""
        return np.flatnonzero(self.life["join"] <= self.t)

    def in_account(self, account: int) -> np.ndarray:
        """DocuSign-listed rows with a membership (open or closed) in ``account``."""
        return np.flatnonzero(((self.life["members"] >> account) & 1).astype(bool) & (self.life["join"] <= self.t))

    # -- Entra ID ------------------------------------------------------------------------------

    def entra_states(self) -> tuple[np.ndarray, np.ndarray]:
        """(state, deleted_at) per row as of ``t``; ``deleted_at`` is NEVER unless soft-deleted."""
        L, t = self.life, self.t
        state = np.full(len(self), ENABLED, dtype=object)
        deleted_at = np.full(len(self), NEVER, dtype=np.int64)
        in_gap = (L["gap_start"] <= t) & (t < L["gap_end"])
        gap_disabled = in_gap & (L["gap_mode"] == GAP_DISABLE)
        gap_deleted = in_gap & (L["gap_mode"] == GAP_DELETE)
        state[gap_disabled] = DISABLED
        state[gap_deleted] = SOFT_DELETED
        deleted_at[gap_deleted] = L["gap_start"][gap_deleted]
        termed = L["term"] <= t
        disabled = termed & (L["term_mode"] == TERM_DISABLE) & (t < L["final_delete"])
        state[disabled] = DISABLED
        deleted = termed & ((L["term_mode"] == TERM_DELETE) | (L["final_delete"] <= t))
        when = np.where(L["term_mode"] == TERM_DELETE, L["term"], L["final_delete"])
        state[deleted] = SOFT_DELETED
        deleted_at[deleted] = when[deleted]
        expired = (state == SOFT_DELETED) & (deleted_at <= t - ENTRA_RECYCLE_DAYS * TICKS_PER_DAY)
        state[expired] = GONE
        state[L["entra_created"] > t] = NOT_CREATED
        return state, deleted_at

    def entra_events(self, since: int) -> list[tuple[int, str, int]]:
        """(when, activityDisplayName, row) of account-lifecycle audits in ``[since, t]``."""
        L, t = self.life, self.t
        out = []
        cols = [
            ("entra_created", None, "Add user"),
            ("gap_start", ("gap_mode", {GAP_DISABLE: "Disable account", GAP_DELETE: "Delete user"}), None),
            ("gap_end", ("gap_mode", {GAP_DISABLE: "Enable account", GAP_DELETE: "Restore user"}), None),
            ("term", ("term_mode", {TERM_DELETE: "Delete user", TERM_DISABLE: "Disable account"}), None),
            ("final_delete", None, "Delete user"),
        ]
        for col, by_mode, fixed in cols:
            when = L[col]
            rows = np.flatnonzero((when >= since) & (when <= t) & (when < NEVER))
            for r in rows.tolist():
                if fixed:
                    name = fixed
                else:
                    name = by_mode[1].get(int(L[by_mode[0]][r]))
                    if name is None:
                        continue
                out.append((int(when[r]), name, r))
        out.sort(key=lambda e: (-e[0], e[2]))
        return out


def snapshot(world: World, t: int) -> Snapshot:
    """Everyone DocuSign or Entra still lists at ``t``: current people once joined, and their predecessors."""
    slots = np.arange(world.n_slots, dtype=np.int64)
    day = int(ticks_to_day(t))
    cur = world.tenure_at(slots, day)
    prev = world.previous_tenure(slots, cur)
    has_prev = world.kind[slots] != SERVICE
    all_slots = np.concatenate([slots[has_prev], slots])
    all_tens = np.concatenate([prev[has_prev], cur])
    life = world.lifecycle(all_slots, all_tens)
    # Entra creates people two days before they join DocuSign; list a person once either knows them.
    listed = life["entra_created"] <= t
    order = np.lexsort((all_tens[listed], all_slots[listed]))
    keep = np.flatnonzero(listed)[order]
    life = {k: v[keep] for k, v in life.items()}
    from dsassets.simulator.activity import active_members

    joined = life["join"] <= t
    open_bits = np.where(joined, active_members(life, t), 0)
    return Snapshot(world, t, life, open_bits)
