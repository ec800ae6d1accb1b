"""Custom activity policies (MDCA's "activity policy" over the DocuSign audit log) and their settings.

- ``settings``: the ``activity_policies`` section of ``dsassets.yaml`` (policy files, governance);
- ``model``: the policy file format, validated one policy at a time;
- ``compile``: a policy as DuckDB SQL with every value a prepared parameter.
"""
