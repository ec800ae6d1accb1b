-- stg_docusign__organization_users
-- grain:       one row per organization user per snapshot day
-- primary key: (dt, user_id)
-- window:      none; a view over every partition
-- notes:       Admin API times carry no zone and are read as UTC

with

source as (
    select * from raw_docusign_organization_users
),

final as (
    select
        blank_to_null(organization_id) as organization_id,
        blank_to_null(id) as user_id,
        user_name,
        first_name,
        last_name,
        lower(blank_to_null(email)) as email,
        ds_status(user_status) as user_status,
        blank_to_null(default_account_id) as default_account_id,
        is_organization_admin,
        federated_status,
        require_two_step_verification,
        device_verification_enabled,
        ds_timestamp(created_on) as created_at,
        _snapshot_taken_at as snapshot_taken_at,
        _source as extracted_from,
        dt
    from source
)

select * from final
