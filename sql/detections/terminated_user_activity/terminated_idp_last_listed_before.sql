-- terminated_idp_last_listed_before
-- grain:       one row per address, identity-provider user and status
--              (deleted, disabled) that the last snapshot of a span of days
--              before the window listing the address lists
-- primary key: none: the policy keeps each address's rows of the latest dt
-- window:      in_history(dt): history_from <= dt < window_start
-- notes:       a deleted user the latest snapshot no longer lists was purged
--              from the recycle bin if its last listing was old enough;
--              dsassets/lib/transform/history.py rolls up each month once

with

snapshots as (
    select * from stg_idp__users
    where in_history(dt)
),

listings as (
    select * from terminated_listings(snapshots)
),

final as (
    select * from listings
    qualify dt = max(dt) over (partition by email)
)

select * from final
