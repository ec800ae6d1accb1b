"""Plain library code (clients, lake, parsing). Not autoloaded by Dagster."""
