-- user_accounts_profile_days
-- grain:       one row per account, permission profile and day a listing
--              names the profile (int_membership_listings)
-- primary key: (dt, account_id, permission_profile_id)
-- window:      dt < window_end; readers filter the days they read (the
--              window's, or in_history(dt)), which reaches the listings' scan
-- columns:     the profile's name and admin flag as taken last that day (the
--              latest snapshot_taken_at with a value wins) and when that was

select
    account_id,
    permission_profile_id,
    dt,
    arg_max(permission_profile_name, snapshot_taken_at)
        as permission_profile_name,
    max(snapshot_taken_at) filter (
        where permission_profile_name is not null
    ) as name_taken_at,
    arg_max(is_admin, snapshot_taken_at) as is_admin,
    max(snapshot_taken_at) filter (where is_admin is not null)
        as admin_taken_at
from int_membership_listings
where dt < getvariable('window_end') and permission_profile_id is not null
group by all
