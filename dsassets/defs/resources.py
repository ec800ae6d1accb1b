"""Resources shared by every asset: the lake and the DocuSign / identity-provider connections.

With no ``DOCUSIGN_*`` variables set, the DocuSign resource runs the embedded
simulator behind the same httpx client (only the transport differs), and every
materialization says so in its metadata.
"""


import functools
from contextlib import contextmanager
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from typing import Iterable, Iterator

import dagster as dg

from dsassets.lib.clients.docusign import DocuSignClient
from dsassets.lib.clients.graph import GraphClient
from dsassets.lib.lake.lake import Lake
from dsassets.lib.config import settings
from dsassets.lib.config.settings import ConfigError, docusign_settings_from_env, graph_settings_from_env


class LakeResource(dg.ConfigurableResource):
    """Where the Parquet lake lives (a directory or ``s3://bucket/prefix``) and, for S3, the
    local directory for what cannot live there (``warehouse.duckdb``, scratch files, locks).

    Only locations are configured here: S3 credentials are read by botocore from the standard
    ``AWS_*`` variables at run time, so they never show in the UI or in run storage.
    """

    data_dir: str = settings.DATA_DIR.default  # type: ignore[assignment]
    local_dir: str = ""

    @property
    def lake(self) -> Lake:
        return Lake.at(self.data_dir, self.local_dir or None)


def _simulator(seed: int, events_per_day: int, late_share: float = 0.0, late_policies: tuple[str, ...] = ()):
    """The process's one simulator (and clock) for these settings, however the call spells them:
    lru_cache keys ``f(1, 2)`` and ``f(1, 2, 0.0, ())`` apart, and two instances of one
    organization would not share the clock a snapshot pins."""
    return _simulator_for(int(seed), int(events_per_day), float(late_share), tuple(late_policies))


@functools.lru_cache(maxsize=4)
def _simulator_for(seed: int, events_per_day: int, late_share: float, late_policies: tuple[str, ...]):
    # Imported lazily: production runs never load the simulator's world.
    from dsassets.simulator import DocuSignSimulator, SimulatorConfig

    clock = _SimulatedClock()
    config = SimulatorConfig(seed=seed, events_per_day=events_per_day, late_share=late_share,
                             late_policies=late_policies)
    sim = DocuSignSimulator(config, now=clock)
    return sim, clock


class _SimulatedClock:
    """The simulator's idea of "now": real time unless a snapshot asks for the end of a past day."""

    def __init__(self) -> None:
        self.pinned: datetime | None = None

    def __call__(self) -> datetime:
        return self.pinned or simulated_now()


def simulated_now() -> datetime:
    """The simulator's present: ``DSASSETS_SIMULATOR_NOW`` (ISO time, to replay a moment of a
    day, e.g. in tests or to demo the intra-day refresh) or the real time."""
    value = settings.SIMULATOR_NOW.value()
    if not value:
        return datetime.now(timezone.utc)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ConfigError(f"{settings.SIMULATOR_NOW.name}={value!r}: not an ISO time such as 2026-11-20T10:15:00Z") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


class DocuSignResource(dg.ConfigurableResource):
    """A DocuSign organization: the real APIs when ``DOCUSIGN_*`` is set, else the embedded simulator.

    Credentials are read from the environment at run time and are never part of
    this resource's config, so they cannot show in the UI or in run storage.
    """

    simulator_seed: int = settings.SIMULATOR_SEED.default  # type: ignore[assignment]
    simulator_events_per_day: int = settings.SIMULATOR_EVENTS_PER_DAY.default  # type: ignore[assignment]
    # Late ingestion in the simulator (see SimulatorConfig): a share of events, and the planted
    # incidents (comma-separated detection names) that arrive after their day's run.
    simulator_late_share: float = 0.0
    simulator_late_policies: str = ""

    @property
    def source(self) -> str:
        """``docusign`` or ``simulator``: stamped on every row and materialization."""
        return "docusign" if docusign_settings_from_env() else "simulator"

    @contextmanager
    def client(self, as_of: datetime | None = None) -> Iterator[DocuSignClient]:
        """A client for one unit of work.

        ``as_of`` only matters for the simulator: snapshot assets run for a past
        day ask it for the state at the end of that day, as a daily scheduled
        run would have seen it. Real DocuSign only knows the present, and the
        snapshot then records when it was really taken.
        """
        settings = docusign_settings_from_env()
        if settings is not None:
            with DocuSignClient(settings) as client:
                yield client
            return
        sim, clock = self.simulator()
        clock.pinned = as_of
        try:
            with DocuSignClient(sim.docusign_settings(), transport=sim.transport()) as client:
                yield client
        finally:
            clock.pinned = None

    def simulator(self):
        """``(simulator, clock)``: the one simulated organization of this configuration, shared by
        the DocuSign and Graph clients so that pinning its clock for a past day pins both."""
        late_policies = tuple(p.strip() for p in self.simulator_late_policies.split(",") if p.strip())
        return _simulator(self.simulator_seed, self.simulator_events_per_day, self.simulator_late_share, late_policies)

    def now(self) -> datetime:
        """The source's present: the real time, or the simulator's (see ``simulated_now``)."""
        return simulated_now() if self.source == "simulator" else datetime.now(timezone.utc)

    def snapshot_time(self, window_end: datetime) -> datetime:
        """When a snapshot for a partition ending at ``window_end`` is really taken."""
        if self.source == "simulator":
            return min(window_end, self.now())
        return self.now()

    def snapshot_days(self, days: Iterable[date]) -> Iterator[tuple[date, datetime, bool]]:
        """Each day of a range with when its snapshot is taken, and whether it is taken for that day.

        The simulator knows its past and serves each day its end-of-day state: every day is taken.
        DocuSign and Entra ID only serve the present: the first day's snapshot is taken and every
        later day of the range holds that same one, with its true time, instead of asking the same
        questions once a day (Entra ID alone took 106 s of a month's backfill that way).
        """
        taken_at: datetime | None = None
        for day in days:
            fresh = taken_at is None or self.source == "simulator"
            if fresh:
                taken_at = self.snapshot_time(datetime.combine(day + timedelta(days=1), time.min, timezone.utc))
            yield day, taken_at, fresh


class IdentityProviderResource(dg.ConfigurableResource):
    """Where terminated users come from: a file export, Microsoft Entra ID, or the simulator.

    Precedence: ``DSASSETS_IDP_EXPORT_FILE`` (CSV with email, status, status_changed_at), then
    ``ENTRA_*`` (Microsoft Graph), then the simulator's Entra tenant when DocuSign is simulated.
    """

    export_file: str | None = None

    def kind(self, docusign_source: str) -> str:
        if self.export_file:
            return "file"
        if graph_settings_from_env():
            return "entra"
        if docusign_source == "simulator":
            return "simulator"
        return "none"

    @contextmanager
    def graph_client(self, docusign: DocuSignResource) -> Iterator[GraphClient]:
        settings = graph_settings_from_env()
        if settings is not None:
            with GraphClient(settings) as client:
                yield client
            return
        if docusign.source != "simulator":
            raise ConfigError("no identity provider: set ENTRA_TENANT_ID/ENTRA_CLIENT_ID/ENTRA_CLIENT_SECRET or DSASSETS_IDP_EXPORT_FILE")
        sim, _ = docusign.simulator()
        with GraphClient(sim.graph_settings(), transport=sim.transport()) as client:
            yield client

    def export_path(self) -> Path:
        assert self.export_file
        return Path(self.export_file).expanduser()


@dg.definitions
def resources() -> dg.Definitions:
    return dg.Definitions(
        resources={
            "lake": LakeResource(data_dir=settings.DATA_DIR.get(), local_dir=settings.LOCAL_DIR.value() or ""),
            "docusign": DocuSignResource(
                simulator_seed=settings.SIMULATOR_SEED.integer(),
                simulator_events_per_day=settings.SIMULATOR_EVENTS_PER_DAY.integer(),
                simulator_late_share=settings.SIMULATOR_LATE_SHARE.share(),
                simulator_late_policies=settings.SIMULATOR_LATE_POLICIES.get() or "",
            ),
            "identity_provider": IdentityProviderResource(export_file=settings.IDP_EXPORT_FILE.value()),
        }
    )
