"""A bulk membership export (CSV, one row per user and account) to the users and memberships snapshots.

The rows are the ones the per-user ``dsprofile`` path writes; only ``_raw`` differs, because
it keeps what the API sent: here the CSV record, as a JSON object of header to text.
The CSV is read with ``pyarrow.csv`` and shaped with one DuckDB query per table, so no
Python code runs per row.

The Admin spec does not document the CSV's columns. ``EXPORT_COLUMNS`` names the ones read,
after the Admin API's own field names; a missing column is an error naming it and the export.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime

import duckdb
import pyarrow as pa
import pyarrow.csv as pacsv

from dsassets.lib.lake import schemas
from dsassets.lib.lake.snapshots import MalformedRecordError

# snapshot column -> CSV header. User columns repeat on each of the user's membership rows.
USER_COLUMNS = {
    "id": "id",
    "user_name": "user_name",
    "first_name": "first_name",
    "last_name": "last_name",
    "user_status": "user_status",
    "default_account_id": "default_account_id",
    "is_organization_admin": "is_organization_admin",
    "federated_status": "federated_status",
    "require_two_step_verification": "require_two_step_verification",
    "device_verification_enabled": "device_verification_enabled",
    "created_on": "created_on",
}
MEMBERSHIP_COLUMNS = {
    "id": "membership_id",
    "account_id": "account_id",
    "account_name": "account_name",
    "email": "email",
    "status": "membership_status",
    "is_admin": "is_admin",
    "permission_profile_id": "permission_profile_id",
    "permission_profile_name": "permission_profile_name",
    "created_on": "membership_created_on",
    "closed_on": "membership_closed_on",
}
EXPORT_COLUMNS = {**{f"user.{k}": v for k, v in USER_COLUMNS.items()},
                  **{f"membership.{k}": v for k, v in MEMBERSHIP_COLUMNS.items()}}
BOOLEAN_HEADERS = {"is_organization_admin", "require_two_step_verification", "device_verification_enabled", "is_admin"}


def read_export_csv(parts: list[bytes], export_id: str) -> pa.Table:
    """Every CSV part as one all-string table (empty fields are null), rows in export order."""
    tables = []
    for i, part in enumerate(parts):
        # Every column as text, extra ones too (``_raw`` keeps them as sent): name them from the header.
        header = next(csv.reader([part.split(b"\n", 1)[0].rstrip(b"\r").decode("utf-8-sig", "replace")]), [])
        try:
            table = pacsv.read_csv(
                io.BytesIO(part),
                convert_options=pacsv.ConvertOptions(
                    column_types={h: pa.string() for h in [*header, *EXPORT_COLUMNS.values()]},
                    strings_can_be_null=True,
                    null_values=[""],
                ),
            )
        except pa.ArrowInvalid as exc:
            raise MalformedRecordError(
                f"user list export {export_id}, result {i}: not a readable CSV ({exc})"
            ) from None
        missing = [h for h in dict.fromkeys(EXPORT_COLUMNS.values()) if h not in table.column_names]
        if missing:
            raise MalformedRecordError(
                f"user list export {export_id}, result {i}: CSV lacks column(s) {', '.join(missing)}"
            )
        tables.append(table.cast(pa.schema([(n, pa.string()) for n in table.column_names])))
    return pa.concat_tables(tables, promote_options="default") if tables else pa.table({})


def export_tables(
    export: pa.Table,
    *,
    organization_id: str,
    account_ids: list[str],
    export_id: str,
    source: str,
    taken_at: datetime,
) -> dict[str, pa.Table]:
    """``raw_docusign_organization_users`` and ``raw_docusign_memberships`` from an export.

    Like the per-user path, a user is kept when one of their memberships is in ``account_ids``
    (the accounts extracted), and then with all of their memberships.
    """
    con = duckdb.connect()
    try:
        con.register("export_rows", export.append_column("_row", pa.array(range(export.num_rows), pa.int64())))
        con.register("wanted", pa.table({"account_id": pa.array([a.lower() for a in account_ids], pa.string())}))
        raw = _json_of(export.column_names)
        kept = (
            "select *, " + raw + " as _raw from export_rows where id in "
            "(select id from export_rows join wanted on lower(export_rows.account_id) = wanted.account_id)"
        )
        meta = [source, taken_at]
        users = con.sql(
            f"""
            with rows as ({kept}),
            emails as (
                select id, arg_min(email, _row) filter (where email is not null) as user_email from rows group by id
            ),
            firsts as (
                select *, row_number() over (partition by id order by _row) as n from rows join emails using (id)
            )
            select ? as organization_id,
                   {_select(USER_COLUMNS, export_id, skip={"email"})},
                   user_email as email,
                   {_json_of(USER_COLUMNS.values())} as _raw,
                   ? as _source, ?::timestamptz as _snapshot_taken_at
            from firsts where n = 1 order by _row
            """,
            params=[organization_id, *meta],
        ).to_arrow_table()
        memberships = con.sql(
            f"""
            with rows as ({kept})
            select ? as organization_id, id as user_id, {_select(MEMBERSHIP_COLUMNS, export_id)},
                   _raw, ? as _source, ?::timestamptz as _snapshot_taken_at
            from rows order by _row
            """,
            params=[organization_id, *meta],
        ).to_arrow_table()
    except duckdb.InvalidInputException as exc:
        raise MalformedRecordError(str(exc).removeprefix("Invalid Input Error: ")) from None
    finally:
        con.close()
    return {
        "raw_docusign_organization_users": _conform(users, schemas.ORGANIZATION_USERS),
        "raw_docusign_memberships": _conform(memberships, schemas.MEMBERSHIPS),
    }


def _json_of(headers) -> str:
    """The record as a JSON object of header to text, as the per-user path keeps what the API sent."""
    return "to_json(struct_pack(" + ", ".join(f"{_ident(h)} := {_ident(h)}" for h in headers) + "))"


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _select(columns: dict[str, str], export_id: str, skip: set[str] = frozenset()) -> str:
    export_id = export_id.replace("'", "''")  # it goes into a string literal of the query
    out = []
    for column, header in columns.items():
        if column in skip:
            continue
        if header in BOOLEAN_HEADERS:
            # Strict: anything but true/false fails loudly, naming the column and the export.
            out.append(
                f"""case when "{header}" is null then null
                    when lower(trim("{header}")) = 'true' then true when lower(trim("{header}")) = 'false' then false
                    else error('user list export {export_id}: column {header} has ' || "{header}"
                               || ', expected true or false')
                    end as {column}"""
            )
        else:
            out.append(f'"{header}" as {column}')
    return ", ".join(out)


def _conform(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """The snapshot schema's columns, in its order and types (the per-user path's exact shape)."""
    return pa.Table.from_arrays([table[f.name].cast(f.type) for f in schema], schema=schema)
