-- posture_findings
-- grain:       one row per account, enabled control and day
-- primary key: (dt, account_id, control_id)
-- window:      window_start <= dt < window_end
-- lookbacks:   none of its own: settings and password rules must have a
--              snapshot on that very day (no carrying an old one forward);
--              user controls read users/user_accounts, which have their own
-- accounts:    every account in that day's accounts, settings, password-rule
--              or membership data (posture_account_days)
-- inputs:      posture_controls (catalog from dsassets/lib/posture/controls.py, only
--              enabled controls) and getvariable('posture_*') thresholds
--              from dsassets.yaml
-- parts:       the views of posture_findings/, one per file, created before
--              this select runs: the day's snapshots, the account-day spine
--              and one file per control family (settings snapshots, members)
-- status:      'pass' | 'fail' | 'unknown'. Unknown when the data is missing
--              or unreadable (status_reason says which and why); it earns no
--              points. Never a pass by default.

with

evaluated as (
    select * from posture_snapshot_findings
    union all
    select * from posture_member_findings
),

final as (
    select
        evaluated.dt,
        account_days.organization_id,
        evaluated.account_id,
        account_days.account_name,
        evaluated.control_id,
        controls.title,
        controls.category,
        controls.severity,
        evaluated.status,
        evaluated.observed,
        controls.expected,
        evaluated.status_reason,
        controls.points as points_possible,
        case
            when evaluated.status = 'pass' then controls.points else 0
        end as points_achieved,
        controls.why_it_matters,
        controls.remediation,
        controls.reference,
        controls.evidence_source,
        evaluated.evidence_taken_at,
        controls.setting_keys,
        controls.control_order
    from evaluated
    inner join posture_controls as controls
        on evaluated.control_id = controls.control_id
    left join posture_account_days as account_days
        on evaluated.dt = account_days.dt
        and evaluated.account_id = account_days.account_id
)

select * from final
