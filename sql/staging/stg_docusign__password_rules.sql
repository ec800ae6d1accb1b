-- stg_docusign__password_rules
-- grain:       one row per account per snapshot day
-- primary key: (dt, account_id)
-- window:      none; a view over every partition

with

source as (
    select * from raw_docusign_password_rules
),

final as (
    select
        blank_to_null(account_id) as account_id,
        expire_password,
        expire_password_days,
        lockout_duration_minutes,
        lower(lockout_duration_type) as lockout_duration_type,
        minimum_password_age_days,
        minimum_password_length,
        password_include_digit,
        password_include_digit_or_special_character,
        password_include_lower_case,
        password_include_special_character,
        password_include_upper_case,
        lower(password_strength_type) as password_strength_type,
        questions_required,
        _snapshot_taken_at as snapshot_taken_at,
        _source as extracted_from,
        dt
    from source
)

select * from final
