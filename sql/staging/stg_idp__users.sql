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
        lower(trimmed(status)) as idp_status,
        status_changed_at as idp_status_changed_at,
        status_changed_at_source as idp_status_changed_at_source,
        -- every address the user can appear under in DocuSign: mail, UPN (also
        -- without the "<object id, no dashes>" prefix Entra gives a deleted
        -- user's UPN), otherMails and proxyAddresses (without "smtp:")
        list_distinct(list_filter(list_concat([
            lower(blank_to_null(email)),
            lower(blank_to_null(user_principal_name)),
            -- a plain prefix, not a regular expression built per row (one
            -- compiled for each of 68k rows was most of a detection's time)
            strip_prefix(
                lower(blank_to_null(user_principal_name)),
                lower(replace(coalesce(idp_user_id, ''), '-', ''))
            ),
            case when lower(trimmed(status)) = 'deleted' then regexp_replace(
                lower(blank_to_null(user_principal_name)),
                '^[0-9a-f]{32}(.+@)', '\1'
            ) end
        ], list_transform(
            coalesce(other_emails, []),
            lambda address:
                lower(regexp_replace(trimmed(address), '^smtp:', '', 'i'))
        )), lambda address: address like '%_@_%')) as idp_emails,
        lifecycle as idp_lifecycle,
        _snapshot_taken_at as snapshot_taken_at,
        _source as extracted_from,
        dt
    from source
)

select * from final
