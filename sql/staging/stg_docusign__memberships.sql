-- stg_docusign__memberships
-- grain:       one row per (user, account) membership per snapshot day
-- primary key: (dt, user_id, account_id)
-- window:      none; a view over every partition
-- notes:       Admin API times carry no zone and are read as UTC

with

source as (
    select * from raw_docusign_memberships
),

final as (
    select
        blank_to_null(organization_id) as organization_id,
        blank_to_null(user_id) as user_id,
        blank_to_null(id) as membership_id,
        blank_to_null(account_id) as account_id,
        account_name,
        lower(blank_to_null(email)) as email,
        ds_status(status) as status,
        is_admin,
        blank_to_null(permission_profile_id) as permission_profile_id,
        blank_to_null(permission_profile_name) as permission_profile_name,
        ds_timestamp(created_on) as created_at,
        ds_timestamp(closed_on) as closed_at,
        _snapshot_taken_at as snapshot_taken_at,
        _source as extracted_from,
        dt
    from source
)

select * from final
