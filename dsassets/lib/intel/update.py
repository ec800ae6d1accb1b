"""``dsassets intel update``: download public IP lists into dated files the detections can read.

Each source of ``detections.intel.sources`` (Tor bulk exit list, FireHOL level 1, Spamhaus
DROP by default) becomes ``<intel dir>/<name>-<YYYY-MM-DD>.txt`` with the list format of
``lib/intel/ip_intel.py`` and a header naming the source URL and the download time. A file is
written to a temporary name and renamed only once the whole download parsed, so a failed or
garbled download (an HTML error page, a truncated body) leaves the previous file in use.
An ``ip_lists`` entry with ``path: intel:<name>`` reads the newest dated file of that name.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path

import httpx

from dsassets.lib.config.project import ConfigError, ProjectConfig, config_path
from dsassets.lib.config.settings import check_url
from dsassets.lib.detections.thresholds import IntelSource, parse_network

INTEL = "intel:"
# Below this many entries a download is not a list but an error page or a truncated body.
MIN_ENTRIES = 1


class IntelDownloadError(RuntimeError):
    """A list could not be downloaded or parsed; the message names the source and URL."""


def intel_dir(config: ProjectConfig) -> Path:
    path = Path(config.detections.intel.dir).expanduser()
    return path if path.is_absolute() else config_path().parent / path


def dated_files(directory: Path, name: str) -> list[Path]:
    """``<name>-YYYY-MM-DD.txt`` files, oldest first."""
    pattern = re.compile(rf"{re.escape(name)}-\d{{4}}-\d{{2}}-\d{{2}}\.txt")
    return sorted(p for p in directory.glob(f"{name}-*.txt") if pattern.fullmatch(p.name))


def newest(directory: Path, name: str) -> Path:
    files = dated_files(directory, name)
    if not files:
        raise ConfigError(f"intel:{name}: no downloaded list in {directory}; run `dsassets intel update`")
    return files[-1]


def parse_entries(text: str, source: str) -> list[str]:
    """CIDRs of a Tor bulk list, a FireHOL netset or a Spamhaus DROP file (``;`` and ``#`` comments)."""
    entries = []
    for number, line in enumerate(text.splitlines(), start=1):
        body = re.split(r"[;#]", line, maxsplit=1)[0].strip()
        if not body:
            continue
        try:
            entries.append(str(parse_network(body.split()[0])))
        except ValueError as exc:
            raise IntelDownloadError(f"{source}: line {number} is not an address or CIDR ({exc})") from None
    if len(entries) < MIN_ENTRIES:
        raise IntelDownloadError(f"{source}: the download holds no address; keeping the previous list")
    return entries


@dataclass(frozen=True)
class Downloaded:
    name: str
    path: Path
    entries: int


def download(source: IntelSource, directory: Path, *, now: datetime, client: httpx.Client) -> Downloaded:
    url = check_url(f"detections.intel.sources[{source.name}].url", source.url)
    try:
        response = client.get(url, follow_redirects=True)
        response.raise_for_status()
    except httpx.HTTPError as exc:
        raise IntelDownloadError(f"{source.name}: GET {url} failed ({type(exc).__name__}: {exc})") from None
    entries = parse_entries(response.text, f"{source.name} ({url})")
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / f"{source.name}-{now.date().isoformat()}.txt"
    header = [
        f"# name: {source.name}",
        f"# policy: {source.policy}",
        f"# tag: {source.tag}",
        f"# as_of: {now.date().isoformat()}",
        f"# source: {url}",
        f"# downloaded_at: {now.isoformat(timespec='seconds')}",
        f"# entries: {len(entries)}",
    ]
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text("\n".join(header + entries) + "\n", encoding="utf-8")
        os.replace(tmp, target)  # atomic: readers see the old file or the whole new one
    finally:
        tmp.unlink(missing_ok=True)
    return Downloaded(source.name, target, len(entries))


def update(config: ProjectConfig, *, now: datetime | None = None,
           transport: httpx.BaseTransport | None = None) -> tuple[list[Downloaded], list[str]]:
    """Download every configured source; returns what was written and one error per failed source."""
    now = now or datetime.now(timezone.utc)
    directory = intel_dir(config)
    done, errors = [], []
    with httpx.Client(timeout=60.0, transport=transport, headers={"User-Agent": "dsassets-intel-update"}) as client:
        for source in config.detections.intel.sources:
            try:
                done.append(download(source, directory, now=now, client=client))
            except (IntelDownloadError, ConfigError) as exc:
                errors.append(str(exc))
    return done, errors


def list_age_days(as_of: str | None, today: date) -> int | None:
    """Days since a list's ``as_of`` header (None when it has none)."""
    try:
        return (today - date.fromisoformat(as_of)).days if as_of else None
    except ValueError:
        return None
