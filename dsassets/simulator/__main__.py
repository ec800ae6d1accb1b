"""Run the simulator as a loopback server: ``python -m dsassets.simulator --port 8765``.

Prints the environment variables that point the unchanged pipeline at it.
The private key is written to ``--key-file`` (reused if it already exists, so
a restarted server accepts the same exported settings).
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import datetime, timezone
from pathlib import Path

from dsassets.simulator.config import SimulatorConfig
from dsassets.simulator.server import default_sigterm, make_server
from dsassets.simulator.simulator import DocuSignSimulator


def main(argv: list[str] | None = None) -> int:
    default_sigterm()
    parser = argparse.ArgumentParser(prog="python -m dsassets.simulator", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--seed", type=int, default=SimulatorConfig.seed)
    parser.add_argument("--events-per-day", type=int, default=SimulatorConfig.events_per_day)
    parser.add_argument(
        "--key-file",
        default="simulator-private-key.pem",
        help="where to write (or read) the RSA private key the simulator accepts",
    )
    parser.add_argument("--generation", choices=("current", "legacy"), default="current")
    parser.add_argument("--now", type=datetime.fromisoformat, default=None,
                        help="the simulated clock, fixed at this ISO time (UTC unless it says otherwise); "
                             "default: real time")
    parser.add_argument("--drift", action="store_true",
                        help="send numbers and booleans as strings, as some real organizations do")
    args = parser.parse_args(argv)

    key_path = Path(args.key_file).expanduser()
    pem = key_path.read_text() if key_path.is_file() else None
    now = None
    if args.now is not None:
        fixed = args.now if args.now.tzinfo else args.now.replace(tzinfo=timezone.utc)
        now = lambda: fixed  # noqa: E731 - the simulator takes a clock
    simulator = DocuSignSimulator(
        SimulatorConfig(seed=args.seed, events_per_day=args.events_per_day), private_key_pem=pem, now=now
    )
    if pem is None:
        key_path.write_text(simulator.private_key_pem)
        os.chmod(key_path, 0o600)
    server, base_url = make_server(simulator, args.host, args.port, drift=args.drift)
    ds = simulator.docusign_settings(base_url, generation=args.generation)
    gr = simulator.graph_settings(base_url)
    exports = {
        "DOCUSIGN_INTEGRATION_KEY": ds.integration_key,
        "DOCUSIGN_USER_ID": ds.user_id,
        "DOCUSIGN_ORGANIZATION_ID": ds.organization_id,
        "DOCUSIGN_PRIVATE_KEY_FILE": str(key_path.resolve()),
        "DOCUSIGN_AUTH_SERVER": ds.auth_server,
        "DOCUSIGN_MONITOR_GENERATION": ds.monitor_generation,
        "DOCUSIGN_MONITOR_URL": ds.monitor_url,
        "DOCUSIGN_ADMIN_URL": ds.admin_url,
        "ENTRA_TENANT_ID": gr.tenant_id,
        "ENTRA_CLIENT_ID": gr.client_id,
        "ENTRA_CLIENT_SECRET": gr.client_secret,
        "ENTRA_AUTHORITY_URL": gr.authority_url,
        "ENTRA_GRAPH_URL": gr.graph_url,
    }
    print(f"# DocuSign simulator (seed {args.seed}, {args.events_per_day} events/day) at {base_url}")
    for name, value in exports.items():
        print(f"export {name}={value}")
    sys.stdout.flush()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
