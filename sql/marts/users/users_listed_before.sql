-- users_listed_before
-- grain:       one row per organization user a snapshot listed in a span of
--              days before the window: each ended month's rollup, then the
--              days of the window's month before it (a user has a row in each)
-- primary key: none: the mart merges the rows (min first_dt, max latest_dt)
-- window:      in_history(dt): history_from <= dt < window_start
-- columns:     first_dt and latest_dt, the first and the latest day a
--              snapshot of the span listed the user
-- notes:       dsassets/lib/transform/history.py rolls up each month once

select
    user_id,
    min(dt) as first_dt,
    max(dt) as latest_dt
from stg_docusign__organization_users
where in_history(dt) and user_id is not null
group by all
