-- detection_ip_classes
-- grain:       one row per distinct address of the run's window and raw
--              lookback that has a class: in an organization range or on a
--              list (detection_events left-joins it, and an address without
--              one reads as no range, no matches, not trusted either way; at
--              a million events a day that is ~150k addresses to a few)
-- primary key: ip_hex
-- window:      window_start - det_raw_lookback_days <= dt < window_end (the
--              run)
-- columns:     the organization range (ranges never overlap, so at most
--              one) and the list entries matching the address, by policy
-- notes:       CIDR matching is a range join on the 32-hex-digit ip_hex over
--              the distinct addresses only, once per run; the join is the
--              ip_classes macro (macros.sql), which the activity policies'
--              policy_activity shares. Baseline rows need no classes: the
--              policies match them by ip_hex against the day's flagged
--              addresses

with

final as (
    select * from ip_classes(getvariable('det_raw_lookback_days'))
    where
        org_range is not null
        or anonymous_matches is not null
        or suspicious_matches is not null
)

select * from final
