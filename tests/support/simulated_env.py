"""The environment of a test run on the embedded simulator: no real credentials, a scratch data dir."""

import pytest

REAL_SOURCES = ("DOCUSIGN_INTEGRATION_KEY", "DOCUSIGN_USER_ID", "DOCUSIGN_PRIVATE_KEY_FILE",
                "DOCUSIGN_ORGANIZATION_ID", "ENTRA_TENANT_ID", "ENTRA_CLIENT_ID", "ENTRA_CLIENT_SECRET",
                "DSASSETS_CONFIG", "DSASSETS_IDP_EXPORT_FILE", "DSASSETS_REFRESH_MINUTES",
                "DSASSETS_SIMULATOR_NOW", "DSASSETS_SIMULATOR_LATE_SHARE", "DSASSETS_SIMULATOR_LATE_POLICIES",
                "DSASSETS_LATE_EVENT_HOURS")


def use_simulator(patch: pytest.MonkeyPatch, data_dir, *, seed: int, events_per_day: int) -> None:
    """Point ``patch``'s environment at the simulator and ``data_dir``, whatever the shell had set."""
    for name in REAL_SOURCES:
        patch.delenv(name, raising=False)
    patch.setenv("DSASSETS_DATA_DIR", str(data_dir))
    patch.setenv("DSASSETS_SIMULATOR_SEED", str(seed))
    patch.setenv("DSASSETS_SIMULATOR_EVENTS_PER_DAY", str(events_per_day))
