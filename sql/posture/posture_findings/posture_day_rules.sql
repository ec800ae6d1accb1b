-- posture_day_rules
-- grain:       one row per account and day: that day's latest password-rules
--              snapshot, with the document as DocuSign sent it
-- primary key: (dt, account_id)
-- window:      window_start <= dt < window_end
-- lookbacks:   none: a day without a snapshot has no row
-- notes:       staging keeps only the typed columns; the document as sent
--              explains a missing value and is read when a typed value is null

with

rules_documents as (
    select
        dt,
        blank_to_null(account_id) as account_id,
        _snapshot_taken_at as snapshot_taken_at,
        _raw as rules_document
    from raw_docusign_password_rules
    where in_window(dt)
),

final as (
    select
        rules.*,
        docs.rules_document
    from stg_docusign__password_rules as rules
    left join rules_documents as docs
        on rules.dt = docs.dt
        and rules.account_id = docs.account_id
        and rules.snapshot_taken_at is not distinct from docs.snapshot_taken_at
    where in_window(rules.dt) and rules.account_id is not null
    qualify
        row_number() over (
            partition by rules.dt, rules.account_id
            order by rules.snapshot_taken_at desc
        ) = 1
)

select * from final
