-- stg_idp__users
-- grain:       one row per identity-provider user reported deleted or disabled,
--              per snapshot day
-- primary key: (dt, idp_user_id)
-- window:      none; a view over every partition

with

source as (
    select * from raw_idp_users
),

final as (
    select
        blank_to_null(idp_user_id) as idp_user_id,
        lower(blank_to_null(user_principal_name)) as user_principal_name,
        lower(blank_to_null(email)) as email,
        lower(trim(status)) as idp_status,
        status_changed_at as idp_status_changed_at,
        lifecycle as idp_lifecycle,
        _snapshot_taken_at as snapshot_taken_at,
        _source as extracted_from,
        dt
    from source
)

select * from final
