"""Who answers for the assets in the catalog: the team that runs the monitoring (one team today)."""

OWNERS = ["team:security"]
