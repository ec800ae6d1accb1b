-- stg_idp__group_members
-- grain:       one row per (group, member user) per snapshot day, plus one
--              row without a member for an empty or unknown group
-- primary key: (dt, group_id, member_id)
-- window:      none; a view over every partition
-- notes:       member_key is the member's mail, else its UPN, lowercased:
--              what a DocuSign e-mail is matched against

with

source as (
    select * from raw_idp_group_members
),

final as (
    select
        lower(trimmed(group_id)) as group_id,
        found as group_found,
        blank_to_null(member_id) as member_id,
        lower(blank_to_null(user_principal_name)) as user_principal_name,
        lower(blank_to_null(mail)) as mail,
        lower(coalesce(blank_to_null(mail), blank_to_null(user_principal_name)))
            as member_key,
        _snapshot_taken_at as snapshot_taken_at,
        _source as extracted_from,
        dt
    from source
)

select * from final
