"""The extraction benchmark: the real client against pre-rendered pages on loopback, beside the decode floor.

Steps, each in its own process (so each peak RSS is its own):

1. ``render``: the simulator writes the Monitor pages of the window to disk (not timed);
2. the page server (:mod:`dsassets.tools.page_server`) serves them on 127.0.0.1;
3. ``extract``: :class:`DocuSignClient` reads them and :func:`write_event_partitions` writes the
   lake, exactly as the asset does (JWT grant, paging, decoding, Parquet, partitions);
4. ``floor``: ``pyarrow.json`` decodes the same pages' records, and nothing else.

Both figures come from the same run on the same bytes: their ratio is what counts on a shared
machine, where absolute rates move with the other load.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from datetime import date, datetime, time as clock_time, timedelta, timezone
from pathlib import Path

from dsassets.tools.bench_targets import TARGETS
from dsassets.tools.measure import run_child

MODULE = "dsassets.tools.bench_extract"
LAG = timedelta(minutes=15)  # DocuSignSettings.monitor_lag_minutes' default
PAGE_LIMIT = 2000  # DOCUSIGN_MONITOR_PAGE_LIMIT's default and DocuSign's maximum


def _window(start: date, end: date) -> tuple[datetime, datetime]:
    return (datetime.combine(start, clock_time.min, timezone.utc),
            datetime.combine(end + timedelta(days=1), clock_time.min, timezone.utc))


def extract(url: str, data_dir: Path, start: date, end: date, result: Path) -> None:
    """Read the stand-in's pages with the real client into the lake; leave {seconds, events}."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    from dsassets.lib.clients.docusign import DocuSignClient
    from dsassets.lib.config.settings import DUCKDB_MEMORY_LIMIT, DocuSignSettings
    from dsassets.lib.lake.lake import Lake
    from dsassets.lib.lake.raw_events import write_event_partitions

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
    settings = DocuSignSettings(
        integration_key="bench", user_id="bench", organization_id="bench", private_key_pem=key, auth_server=url,
        monitor_url=url, admin_url=url, monitor_page_limit=PAGE_LIMIT, monitor_lag_minutes=int(LAG.total_seconds() // 60))
    window_start, window_end = _window(start, end)
    began = time.perf_counter()
    with DocuSignClient(settings) as client:
        counts = write_event_partitions(Lake.at(data_dir), client.audit_events(window_start, window_end),
                                        start=window_start, end=window_end, source="simulator",
                                        extracted_at=datetime.now(timezone.utc), memory_limit=DUCKDB_MEMORY_LIMIT.get())
    result.write_text(json.dumps({"seconds": time.perf_counter() - began, "events": sum(counts.values())}))


def floor(pages: Path, result: Path) -> None:
    """Seconds for ``pyarrow.json`` to decode the pages' records (~64 MiB blocks); leave {seconds, events}."""
    import io

    import msgspec
    import pyarrow.json as pajson

    body = msgspec.defstruct("Body", [("resultData", list[msgspec.Raw])])
    decoder = msgspec.json.Decoder(body)
    blocks, block, size = [], [], 0
    for path in sorted(pages.glob("0*.json")):  # peeling the pages is not timed: only decoding is
        records = decoder.decode(path.read_bytes()).resultData
        block.append(b"\n".join(records))
        size += len(block[-1])
        if size >= 64 << 20:
            blocks.append(b"\n".join(block))
            block, size = [], 0
    blocks.append(b"\n".join(b for b in block if b))
    began = time.perf_counter()
    events = sum(pajson.read_json(io.BytesIO(b)).num_rows for b in blocks if b)
    result.write_text(json.dumps({"seconds": time.perf_counter() - began, "events": events}))


def measure(data_dir: Path, env: dict, start: date, end: date, events_per_day: int, seed: int,
            latency_ms: int = 0) -> int | None:
    """Render, serve (each page ``latency_ms`` late), extract and measure the floor; print the line;
    return the events extracted."""
    from dsassets.simulator.server import stop_process

    pages = data_dir / "bench-pages"
    common = [start.isoformat(), end.isoformat()]
    began = time.perf_counter()
    if run_child(["render", str(pages), *common, str(events_per_day), str(seed)], env, MODULE) is None:
        return None
    print(f"{'(pages rendered)':<20}{time.perf_counter() - began:>9.1f}  "
          f"{sum(p.stat().st_size for p in pages.glob('0*.json')) / 2**20:,.0f} MiB on disk, served from memory")
    server = subprocess.Popen([sys.executable, "-m", "dsassets.tools.page_server", str(pages), str(latency_ms)], env=env,
                              stdout=subprocess.PIPE, text=True)
    try:
        url = server.stdout.readline().strip() if server.stdout else ""
        result = data_dir / "bench-extract.json"
        measured = run_child(["extract", url, str(data_dir), *common, str(result)], env, MODULE)
    finally:
        stop_process(server)
    floor_result = data_dir / "bench-extract-floor.json"
    floor_measured = run_child(["floor", str(pages), str(floor_result)], env, MODULE)
    if measured is None or floor_measured is None:
        return None
    got, base = json.loads(result.read_text()), json.loads(floor_result.read_text())
    print(f"{'extract_events':<20}{got['seconds']:>9.1f}{measured[1]:>10.0f}{got['events'] / got['seconds']:>11,.0f}   "
          f"{'decode floor':<18}{base['seconds']:>8.2f}{floor_measured[1]:>10.0f}"
          f"{base['events'] / base['seconds']:>11,.0f}{got['seconds'] / base['seconds']:>9.1f}")
    where = f"loopback, each page {latency_ms} ms late" if latency_ms else "loopback"
    print(f"{'':<20}({where}, real client; {base['events']:,} events in the pages, "
          f"{got['events']:,} in the window)")
    print(TARGETS["extract_events"].line(events_per_day=events_per_day, days=(end - start).days + 1,
                                         events_per_s=got["events"] / got["seconds"], mib=measured[1]))
    return got["events"]


def main(argv: list[str]) -> int:
    step, *args = argv
    if step == "render":
        from dsassets.tools.page_server import render

        directory, start, end, per_day, seed, *readers = args
        render(Path(directory), date.fromisoformat(start), date.fromisoformat(end), int(per_day), int(seed), LAG,
               PAGE_LIMIT, int(readers[0]) if readers else 1)
    elif step == "extract":
        url, data_dir, start, end, result = args
        extract(url, Path(data_dir), date.fromisoformat(start), date.fromisoformat(end), Path(result))
    elif step == "floor":
        floor(Path(args[0]), Path(args[1]))
    else:
        raise SystemExit(f"unknown step {step!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
