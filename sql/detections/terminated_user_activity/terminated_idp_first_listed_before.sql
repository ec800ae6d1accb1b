-- terminated_idp_first_listed_before
-- grain:       one row per address and status (deleted, disabled) that an
--              identity-provider snapshot of a span of days before the window
--              lists: when a snapshot first did
-- primary key: none: the policy merges the spans' rows with min
-- window:      in_history(dt): history_from <= dt < window_start
-- notes:       a termination without a date of its own is dated by the first
--              snapshot listing it; dsassets/lib/transform/history.py rolls
--              up each month once

with

snapshots as (
    select * from stg_idp__users
    where in_history(dt)
),

listings as (
    select * from terminated_listings(snapshots)
),

final as (
    select
        email,
        idp_status,
        min(snapshot_taken_at) as first_listed_at
    from listings
    group by all
)

select * from final
