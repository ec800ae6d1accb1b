-- stg_docusign__account_users
-- grain:       one row per (account, user) per snapshot day (eSignature)
-- primary key: (dt, account_id, user_id)
-- window:      none; a view over every partition
-- notes:       eSignature sends every scalar as a string: cast here

with

source as (
    select * from raw_docusign_account_users
),

final as (
    select
        blank_to_null(account_id) as account_id,
        blank_to_null(userId) as user_id,
        userName as user_name,
        lower(blank_to_null(email)) as email,
        ds_status(userStatus) as status,
        ds_bool(isAdmin) as is_admin,
        blank_to_null(userType) as user_type,
        blank_to_null(permissionProfileId) as permission_profile_id,
        blank_to_null(permissionProfileName) as permission_profile_name,
        ds_timestamp(createdDateTime) as created_at,
        ds_timestamp(userAddedToAccountDateTime) as added_to_account_at,
        ds_timestamp(lastLogin) as last_login_at,
        ds_status(loginStatus) as login_status,
        _snapshot_taken_at as snapshot_taken_at,
        _source as extracted_from,
        dt
    from source
)

select * from final
