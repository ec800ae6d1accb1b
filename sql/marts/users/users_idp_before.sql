-- users_idp_before
-- grain:       one row per user the latest identity-provider snapshot of a
--              span of days before the window reports: each ended month's
--              rollup, then the days of the window's month before it
-- primary key: none: the mart keeps the rows of the latest dt
-- window:      in_history(dt): history_from <= dt < window_start
-- columns:     stg_idp__users'
-- notes:       a day's users read only the latest snapshot on or before it;
--              dsassets/lib/transform/history.py rolls up each month once

select * from stg_idp__users
where in_history(dt)
qualify dt = max(dt) over ()
