-- posture_account_days
-- grain:       one row per account and day that has accounts, settings,
--              password-rule or membership data
-- primary key: (dt, account_id)
-- window:      window_start <= dt < window_end
-- lookbacks:   none of its own (user_accounts has its own)
-- names:       the accounts snapshot's organization and account name, else
--              the memberships' (source_rank 1 before 2)

with

named as (
    select dt, account_id, organization_id, account_name, 1 as source_rank
    from stg_docusign__accounts
    where in_window(dt) and account_id is not null
    union all
    select dt, account_id, organization_id, account_name, 2 as source_rank
    from user_accounts
    where in_window(dt) and account_id is not null
),

names as (
    select
        dt,
        account_id,
        arg_min(organization_id, source_rank) as organization_id,
        arg_min(account_name, source_rank) as account_name
    from named
    group by all
),

spine as (
    select dt, account_id from named
    union
    select dt, account_id from posture_day_settings
    union
    select dt, account_id from posture_day_rules
),

final as (
    select
        spine.dt,
        spine.account_id,
        names.organization_id,
        names.account_name,
        timezone('UTC', (spine.dt + 1)::timestamp) as day_end
    from spine
    left join names
        on spine.dt = names.dt
        and spine.account_id = names.account_id
)

select * from final
