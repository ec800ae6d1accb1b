-- users_activity_before
-- grain:       one row per user active in a span of days before the window:
--              each ended month's rollup, then the days of the window's month
--              before it (a user has a row in each)
-- primary key: none: the mart's running window merges the rows in dt order
-- window:      in_history(dt): history_from <= dt < window_start
-- columns:     dt, the user's last day of activity in the span, and the
--              span's first and last event and last successful sign-in
-- notes:       dsassets/lib/transform/history.py rolls up each month once

select
    user_id,
    max(dt) as dt,
    min(first_event_at) as first_event_at,
    max(last_event_at) as last_event_at,
    max(last_successful_signin_at) as last_successful_signin_at
from int_user_activity_daily
where in_history(dt)
group by user_id
