-- stg_docusign__account_settings
-- grain:       one row per account per snapshot day (security settings)
-- primary key: (dt, account_id)
-- window:      none; a view over every partition

with

source as (
    select * from raw_docusign_account_settings
),

final as (
    select
        blank_to_null(account_id) as account_id,
        session_timeout as session_timeout_minutes,
        mobile_session_timeout as mobile_session_timeout_minutes,
        signing_session_timeout as signing_session_timeout_minutes,
        disable_multiple_sessions,
        enable_sms_authentication,
        allow_phone_authentication,
        signer_must_login_to_sign,
        sender_must_authenticate_signing,
        _raw as settings_document,
        _snapshot_taken_at as snapshot_taken_at,
        _source as extracted_from,
        dt
    from source
)

select * from final
