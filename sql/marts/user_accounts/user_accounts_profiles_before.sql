-- user_accounts_profiles_before
-- grain:       one row per account and permission profile listed in a span
--              of days before the window: each ended month's rollup, then
--              the days of the window's month before it
-- primary key: none: the mart's running window merges the rows in dt order
-- window:      in_history(dt): history_from <= dt < window_start
-- columns:     as user_accounts_profile_days, over the span instead of a day:
--              dt, the span's last day naming the profile; its name and admin
--              flag as taken last in the span, and when that was
-- notes:       dsassets/lib/transform/history.py rolls up each month once

select
    account_id,
    permission_profile_id,
    max(dt) as dt,
    arg_max(permission_profile_name, name_taken_at) as permission_profile_name,
    max(name_taken_at) as name_taken_at,
    arg_max(is_admin, admin_taken_at) as is_admin,
    max(admin_taken_at) as admin_taken_at
from user_accounts_profile_days
where in_history(dt)
group by all
