"""``dsassets governance revert ACTION_ID --by NAME --reason TEXT``: undo a suspension, recorded in the ledger."""

from __future__ import annotations

import sys


def add_parser(sub) -> None:
    gov = sub.add_parser("governance", help="governance actions: revert a suspension")
    actions = gov.add_subparsers(dest="governance_command", required=True, metavar="ACTION",
                                 help="revert: undo an executed suspend_user")
    rev = actions.add_parser("revert", help="re-enable the Entra account an executed suspend_user disabled")
    rev.add_argument("action_id", help="the action_key of the suspend_user row in the governance ledger")
    rev.add_argument("--by", required=True, help="who asks for the revert (recorded)")
    rev.add_argument("--reason", required=True, help="why (recorded)")


def main(args, lake) -> int:
    from dsassets.defs.resources import resources
    from dsassets.lib.governance.actions import Ledger
    from dsassets.lib.governance.revert import RevertError, revert

    configured = resources().resources  # the ones the Dagster definitions use
    docusign, idp = configured["docusign"], configured["identity_provider"]
    ledger = Ledger(lake)
    try:
        with ledger.locked():
            row = revert(ledger, args.action_id, lambda: idp.graph_client(docusign),
                         by=args.by, reason=args.reason, now=docusign.now())
    except RevertError as exc:
        print(f"dsassets governance revert: {exc}", file=sys.stderr)
        return 2
    print(f"{row['action']} of {row['target_email']} (Entra {row['entra_user_id']}): {row['status']}"
          f"{' HTTP ' + str(row['http_status']) if row['http_status'] else ''}; recorded in {ledger.url}")
    return 0 if row["status"] == "executed" else 1
