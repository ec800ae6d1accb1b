-- stg_docusign__reserved_domains
-- grain:       one row per reserved (claimed) domain per snapshot day, 1:1
--              with raw
-- primary key: (dt, reserved_domain_id)
-- window:      none; a view over every partition
-- notes:       host_name lowercased without a trailing dot; is_active is the
--              Admin API status 'active' (claimed and validated): only those
--              make their users managed users

with

source as (
    select * from raw_docusign_reserved_domains
),

final as (
    select
        blank_to_null(organization_id) as organization_id,
        blank_to_null(id) as reserved_domain_id,
        rtrim(lower(trimmed(host_name)), '.') as host_name,
        lower(trimmed(status)) as status,
        coalesce(lower(trimmed(status)) = 'active', false) as is_active,
        blank_to_null(identity_provider_id) as identity_provider_id,
        _snapshot_taken_at as snapshot_taken_at,
        _source as extracted_from,
        dt
    from source
)

select * from final
