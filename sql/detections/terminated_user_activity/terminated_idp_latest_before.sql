-- terminated_idp_latest_before
-- grain:       the rows of the latest identity-provider snapshot of a span of
--              days before the window: each ended month's rollup, then the
--              days of the window's month before it
-- primary key: none: the policy keeps the rows of the latest dt
-- window:      in_history(dt): history_from <= dt < window_start
-- columns:     stg_idp__users'
-- notes:       the policy reads the latest snapshot on or before its day
--              (listed now, and whether an earlier listing has gone since);
--              dsassets/lib/transform/history.py rolls up each month once

select * from stg_idp__users
where in_history(dt)
qualify dt = max(dt) over ()
