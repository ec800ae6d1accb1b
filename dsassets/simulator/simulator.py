"""``DocuSignSimulator``: the public face of the simulated DocuSign organisation and its Entra ID."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, date, datetime

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from dsassets.lib.config.settings import DocuSignSettings, GraphSettings, MonitorGeneration
from dsassets.simulator import geography as geo
from dsassets.simulator.config import SimulatorConfig
from dsassets.simulator.directory import Snapshot, snapshot
from dsassets.simulator.events import render
from dsassets.simulator.ids import TICKS_PER_SECOND, to_ticks
from dsassets.simulator.serving import TokenStore
from dsassets.simulator.stream import EventStore
from dsassets.simulator.transport import Fault, SimulatorTransport
from dsassets.simulator.world import World

DEMO_AUTH = "https://account-d.docusign.com"
DEMO_MONITOR = {"current": "https://api-d.docusign.com", "legacy": "https://lens-d.docusign.net"}
DEMO_ADMIN = "https://api-d.docusign.net/Management"

_KEY_LOCK = threading.Lock()
_SHARED_KEY: str | None = None


def _shared_private_key() -> str:
    """One RSA key per process: generating 2048-bit keys costs ~100 ms each and tests build many simulators."""
    global _SHARED_KEY
    with _KEY_LOCK:
        if _SHARED_KEY is None:
            key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            _SHARED_KEY = key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            ).decode("ascii")
        return _SHARED_KEY


class DocuSignSimulator:
    """A deterministic DocuSign organisation (plus its Entra ID tenant) served over HTTP.

    ``now`` is the simulated clock (UTC): the stream never serves events
    ingested after ``now()`` and the user/settings endpoints answer as of
    ``now()``. Default: real time.
    """

    def __init__(
        self,
        config: SimulatorConfig = SimulatorConfig(),
        *,
        now: Callable[[], datetime] | None = None,
        private_key_pem: str | None = None,
    ):
        self.config = config
        self.now = now or (lambda: datetime.now(UTC))
        self.world = World(config)
        self.store = EventStore(self.world)
        self.tokens = TokenStore()
        self.private_key_pem = private_key_pem or _shared_private_key()
        key = serialization.load_pem_private_key(self.private_key_pem.encode("ascii"), password=None)
        self.public_key_pem = (
            key.public_key()
            .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
            .decode("ascii")
        )
        self.graph_calls: list[dict] = []
        self.request_log: list[tuple[str, str, int]] = []
        self._snap_lock = threading.Lock()
        self._snap: Snapshot | None = None

    # -- identities and ranges -----------------------------------------------------------------

    @property
    def organization_id(self) -> str:
        return self.world.organization_id

    @property
    def service_user_id(self) -> str:
        """The user the JWT grant impersonates (organisation admin of every account)."""
        return self.world.user_id(0, 0)

    @property
    def account_ids(self) -> list[str]:
        return [a.id for a in self.world.accounts]

    @property
    def corporate_ranges(self) -> list[str]:
        """Office egress ranges (MDCA category Corporate)."""
        return [o.cidr for o in geo.OFFICES]

    @property
    def vpn_ranges(self) -> list[str]:
        """Remote-access VPN egress ranges (MDCA category VPN)."""
        return [h.cidr for h in geo.VPN_HUBS]

    @property
    def tor_exit_ips(self) -> list[str]:
        """The Tor exit list the simulator uses (includes one address inside a Corporate range)."""
        return [ip for ip, _ in geo.TOR_EXITS]

    @property
    def threat_intel_ips(self) -> list[str]:
        """The simulator's threat-intelligence feed (documentation addresses, RFC 5737)."""
        return [ip for ip, _, _ in geo.THREAT_INTEL]

    # -- serving -------------------------------------------------------------------------------

    def transport(self, faults: list[Fault] | None = None, *, base_uri: str | None = None) -> SimulatorTransport:
        """An ``httpx`` transport serving DocuSign and Microsoft Graph on any host."""
        return SimulatorTransport(self, faults, base_uri)

    def docusign_settings(
        self, base_url: str | None = None, *, generation: MonitorGeneration = "current", **overrides
    ) -> DocuSignSettings:
        """Settings the simulator accepts: demo hosts by default, or everything at ``base_url``."""
        w = self.world
        auth = base_url or DEMO_AUTH
        return DocuSignSettings(
            integration_key=w.integration_key,
            user_id=self.service_user_id,
            organization_id=w.organization_id,
            private_key_pem=self.private_key_pem,
            auth_server=auth,
            monitor_generation=generation,
            monitor_url=base_url or DEMO_MONITOR[generation],
            admin_url=base_url or DEMO_ADMIN,
            **overrides,
        )

    def graph_settings(self, base_url: str | None = None, **overrides) -> GraphSettings:
        w = self.world
        return GraphSettings(
            tenant_id=w.entra_tenant_id,
            client_id=w.entra_client_id,
            client_secret=w.entra_client_secret,
            authority_url=base_url or "https://login.microsoftonline.com",
            graph_url=base_url or "https://graph.microsoft.com",
            **overrides,
        )

    def now_ticks(self) -> int:
        return to_ticks(self.now())

    # -- ground truth and state ----------------------------------------------------------------

    def ground_truth(self, start: date, end: date) -> list[dict]:
        """Planted incidents (true ones and decoys) whose first event is on a day in ``[start, end)``."""
        out = []
        for day in range(start.toordinal(), end.toordinal()):
            for inc in self.store.incidents(day):
                out.append(inc.ground_truth(self.world))
        return out

    def snapshot(self, when: datetime | None = None) -> Snapshot:
        """Everyone listed at ``when`` (default ``now()``), cached for the last instant asked."""
        # Requests driven by now() share a snapshot within the same second (paging a large org).
        t = to_ticks(when) if when is not None else self.now_ticks() // TICKS_PER_SECOND * TICKS_PER_SECOND
        with self._snap_lock:
            if self._snap is None or self._snap.t != t:
                self._snap = snapshot(self.world, t)
            return self._snap

    def users_as_of(self, when: datetime) -> Snapshot:
        return self.snapshot(when)

    def expected_user_states(self, when: datetime) -> list[dict]:
        """Per DocuSign-listed user: ``user_id, email, state`` (active / partially_active / deleted), ``is_admin``."""
        snap = self.snapshot(when)
        states = snap.states()
        admin = snap.is_admin()
        names = snap.names
        ids = snap.user_ids
        return [
            {"user_id": ids[r], "email": names[r][2], "state": str(states[r]), "is_admin": bool(admin[r])}
            for r in snap.ds_rows.tolist()
        ]

    def events(self, day: date) -> list[dict]:
        """Every event with a timestamp on ``day`` (in timestamp order), as Monitor would render it."""
        import numpy as np

        batch = self.store.day(day.toordinal())
        w = self.world
        extras = {(batch.day, k): v for k, v in batch.extras.items()}
        literals = {(batch.day, k): v for k, v in batch.literal_ips.items()}
        return render(
            w.seed,
            w.organization_id,
            self.account_ids,
            [i.integrator_key for i in w.integrations],
            batch.cols,
            np.full(len(batch), batch.day),
            extras,
            literals,
        )
