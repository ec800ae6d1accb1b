-- failing_controls
-- grain: one row per (account, control) failing on the last day of the
--        period that has findings, with its remediation
select
    account_name as account,
    severity,
    title,
    observed,
    expected,
    remediation
from posture_findings
where
    status = 'fail'
    and dt = (
        select max(dt) from posture_findings
        where dt >= $start::date and dt < $end::date
    )
order by
    case severity when 'high' then 0 when 'medium' then 1 else 2 end,
    account,
    control_order
