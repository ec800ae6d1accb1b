-- stg_docusign__accounts
-- grain:       one row per account per snapshot day, 1:1 with raw
-- primary key: (dt, account_id)
-- window:      none; a view over every partition

with

source as (
    select * from raw_docusign_accounts
),

final as (
    select
        blank_to_null(organization_id) as organization_id,
        blank_to_null(organization_name) as organization_name,
        blank_to_null(id) as account_id,
        name as account_name,
        external_account_id,
        site_id,
        _snapshot_taken_at as snapshot_taken_at,
        _source as extracted_from,
        dt
    from source
)

select * from final
