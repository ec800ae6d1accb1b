"""Policy scope (MDCA's include/exclude users and groups): which alerts a detection or policy raises.

- ``model``: the ``scope`` section of ``dsassets.yaml``;
- ``apply``: drops out-of-scope alerts from an alerts relation before it is written.
"""
