"""Counter-based hashing, GUIDs and tick arithmetic shared by the simulator modules.

Everything in the simulated world is a pure function of the seed and a few
integers (slot, tenure, day, row ...). Instead of stepping a random generator
through history we hash those integers, so any date can be computed directly
and vectorised over numpy arrays.

Time is kept as int64 *ticks* of 100 ns since the Unix epoch: Monitor prints 7
fractional digits and its opaque cursors carry .NET ticks, both of which are
exact in this unit.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import numpy as np

TICKS_PER_SECOND = 10_000_000
TICKS_PER_MINUTE = 60 * TICKS_PER_SECOND
TICKS_PER_HOUR = 60 * TICKS_PER_MINUTE
TICKS_PER_DAY = 24 * TICKS_PER_HOUR
UNIX_ORDINAL = date(1970, 1, 1).toordinal()
# .NET DateTime ticks at the Unix epoch (Monitor cursors look like aa_<dotnet ticks>_...).
DOTNET_EPOCH_TICKS = 621_355_968_000_000_000
NEVER = np.iinfo(np.int64).max // 2  # "no such moment" sentinel that still survives small additions

_M64 = 0xFFFFFFFFFFFFFFFF
_C1 = np.uint64(0xBF58476D1CE4E5B9)
_C2 = np.uint64(0x94D049BB133111EB)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_S30, _S27, _S31 = np.uint64(30), np.uint64(27), np.uint64(31)


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser on a uint64 array (wrap-around multiplication is intended)."""
    x = (x ^ (x >> _S30)) * _C1
    x = (x ^ (x >> _S27)) * _C2
    return x ^ (x >> _S31)


def _u64(value) -> np.ndarray:
    arr = np.atleast_1d(np.asarray(value))
    if arr.dtype.kind == "U" or arr.dtype.kind == "S":
        raise TypeError("hash inputs must be integers; use tag() for strings")
    return arr.astype(np.int64, copy=False).view(np.uint64) if arr.dtype != np.uint64 else arr


def tag(name: str) -> int:
    """A stable 63-bit integer for a string label (FNV-1a), usable as a hash input."""
    h = 0xCBF29CE484222325
    for byte in name.encode():
        h = ((h ^ byte) * 0x100000001B3) & _M64
    return h & 0x7FFFFFFFFFFFFFFF


def h64(*parts) -> np.ndarray:
    """Hash integers / integer arrays (broadcast together) to uint64 values."""
    with np.errstate(over="ignore"):
        acc = np.atleast_1d(np.uint64(0x243F6A8885A308D3))
        for part in parts:
            acc = _mix(acc + _u64(part) * _GOLDEN + np.uint64(0x632BE59BD9B4E019))
        return acc


def unit(*parts) -> np.ndarray:
    """Uniform floats in [0, 1) from hashed integers."""
    return (h64(*parts) >> np.uint64(11)).astype(np.float64) * (1.0 / 9007199254740992.0)


def below(n, *parts) -> np.ndarray:
    """Integers in [0, n) from hashed integers (n may be an array)."""
    return (unit(*parts) * np.asarray(n)).astype(np.int64)


_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
_GUID_POS = np.array([i for i in range(36) if i not in (8, 13, 18, 23)])


def guids(hi: np.ndarray, lo: np.ndarray) -> list[str]:
    """Format pairs of uint64 as version-4-looking GUID strings, vectorised."""
    hi = np.atleast_1d(hi).astype(np.uint64)
    lo = np.atleast_1d(lo).astype(np.uint64)
    n = hi.shape[0]
    if n == 0:
        return []
    hi = (hi & np.uint64(0xFFFFFFFFFFFF0FFF)) | np.uint64(0x4000)
    lo = (lo & np.uint64(0x3FFFFFFFFFFFFFFF)) | np.uint64(0x8000000000000000)
    raw = np.empty((n, 2), dtype=">u8")
    raw[:, 0] = hi
    raw[:, 1] = lo
    nibbles = raw.view(np.uint8).reshape(n, 16)
    hexed = np.empty((n, 32), dtype=np.uint8)
    hexed[:, 0::2] = _HEX[nibbles >> 4]
    hexed[:, 1::2] = _HEX[nibbles & 15]
    out = np.full((n, 36), ord("-"), dtype=np.uint8)
    out[:, _GUID_POS] = hexed
    text = out.tobytes().decode("ascii")
    return [text[i : i + 36] for i in range(0, 36 * n, 36)]


def guid_of(*parts) -> list[str]:
    """GUIDs for hashed integer inputs (broadcast); two independent 64-bit halves per GUID."""
    return guids(h64(*parts, 1), h64(*parts, 2))


def guid1(*parts) -> str:
    """One GUID for scalar integer inputs."""
    return guid_of(*parts)[0]


def day_start(day_ordinal: int) -> int:
    """Ticks at 00:00 UTC of a proleptic-Gregorian day ordinal."""
    return (int(day_ordinal) - UNIX_ORDINAL) * TICKS_PER_DAY


def ticks_to_day(ticks) -> np.ndarray | int:
    """Day ordinal containing the tick value(s)."""
    if isinstance(ticks, (int, np.integer)):
        return int(ticks) // TICKS_PER_DAY + UNIX_ORDINAL
    return np.asarray(ticks) // TICKS_PER_DAY + UNIX_ORDINAL


def to_ticks(moment: datetime) -> int:
    """Ticks for an aware datetime (naive is taken as UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    moment = moment.astimezone(UTC)
    days = moment.date().toordinal() - UNIX_ORDINAL
    secs = moment.hour * 3600 + moment.minute * 60 + moment.second
    return days * TICKS_PER_DAY + secs * TICKS_PER_SECOND + moment.microsecond * 10


def to_datetime(ticks: int) -> datetime:
    """Aware UTC datetime for ticks (sub-microsecond digits dropped)."""
    days, rest = divmod(int(ticks), TICKS_PER_DAY)
    d = date.fromordinal(days + UNIX_ORDINAL)
    secs, sub = divmod(rest, TICKS_PER_SECOND)
    h, rem = divmod(secs, 3600)
    m, s = divmod(rem, 60)
    return datetime(d.year, d.month, d.day, h, m, s, sub // 10, tzinfo=UTC)


def iso7(ticks: np.ndarray) -> list[str]:
    """Monitor timestamps: ``2024-06-30T07:08:06.3038365Z`` (7 fractional digits), vectorised."""
    ticks = np.asarray(ticks, dtype=np.int64)
    secs = ticks // TICKS_PER_SECOND
    frac = (ticks - secs * TICKS_PER_SECOND).tolist()
    stamps = np.datetime_as_string(secs.astype("datetime64[s]"), unit="s").tolist()
    return [f"{s}.{f:07d}Z" for s, f in zip(stamps, frac)]


def iso_admin(ticks: int) -> str:
    """Admin API style: no zone, 1-3 fractional digits with trailing zeros dropped (``...56.457``)."""
    dt = to_datetime(ticks)
    millis = dt.microsecond // 1000
    base = dt.strftime("%Y-%m-%dT%H:%M:%S")
    frac = f"{millis:03d}".rstrip("0")
    return f"{base}.{frac}" if frac else f"{base}.0"


def iso_esign(ticks: int) -> str:
    """eSignature style: 7 fractional digits and ``Z`` (``2019-04-01T22:11:56.4570000Z``)."""
    return iso7(np.array([ticks]))[0]


def iso_graph(ticks: int) -> str:
    """Graph style: ISO 8601 with ``Z`` and up to 7 fractional digits."""
    return iso7(np.array([ticks]))[0]
