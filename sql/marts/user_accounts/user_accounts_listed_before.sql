-- user_accounts_listed_before
-- grain:       one row per (user, account) membership a listing showed in a
--              span of days before the window: each ended month's rollup,
--              then the days of the window's month before it (a membership
--              has a row in each)
-- primary key: none: the mart merges the rows (min first_dt, max latest_dt)
-- window:      in_history(dt): history_from <= dt < window_start
-- columns:     first_dt and latest_dt, the first and the latest day a listing
--              of the span showed the membership
-- notes:       dsassets/lib/transform/history.py rolls up each month once

select
    user_id,
    account_id,
    min(dt) as first_dt,
    max(dt) as latest_dt
from int_membership_listings
where in_history(dt)
group by all
