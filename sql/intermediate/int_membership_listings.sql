-- int_membership_listings
-- grain:       one row per snapshot row listing a (user, account) membership
--              on a day: the Admin API's, else the eSignature API's where the
--              Admin API has no row for that membership that day
-- primary key: (dt, user_id, account_id) when a snapshot lists each
--              membership once (a duplicate listing is kept, as
--              user_accounts always read it)
-- window:      window_start <= dt < window_end
-- lookbacks:   none; each day reads its own snapshots
-- notes:       the few cleaned columns user_accounts reads for every day of
--              history (which source listed each membership, and each
--              permission profile's name and admin flag). Reading them from
--              the staging views instead parsed every snapshot row ever taken
--              on every run: a day's user_accounts cost grew with the lake's
--              history, 16 s a day after a month of 66k users

with

admin_memberships as not materialized (
    select
        user_id,
        account_id,
        dt,
        'admin_api' as snapshot_source,
        permission_profile_id,
        permission_profile_name,
        is_admin,
        snapshot_taken_at
    from stg_docusign__memberships
    where
        in_window(dt)
        and user_id is not null
        and account_id is not null
),

esignature_users as (
    select
        user_id,
        account_id,
        dt,
        'esignature_api' as snapshot_source,
        permission_profile_id,
        permission_profile_name,
        is_admin,
        snapshot_taken_at
    from stg_docusign__account_users
    where
        in_window(dt)
        and user_id is not null
        and account_id is not null
),

final as (
    select * from admin_memberships
    union all
    select esignature_users.*
    from esignature_users
    anti join admin_memberships
        using (dt, user_id, account_id)
)

select * from final
