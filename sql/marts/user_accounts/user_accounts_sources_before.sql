-- user_accounts_sources_before
-- grain:       one row per snapshot source and account that listed any
--              membership in a span of days before the window: each ended
--              month's rollup, then the days of the window's month before it
-- primary key: none: the mart takes the latest dt
-- window:      in_history(dt): history_from <= dt < window_start
-- columns:     dt, the span's last day the source listed the account
-- notes:       dsassets/lib/transform/history.py rolls up each month once

select
    snapshot_source,
    account_id,
    max(dt) as dt
from int_membership_listings
where in_history(dt)
group by all
