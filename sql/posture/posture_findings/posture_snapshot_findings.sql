-- posture_snapshot_findings
-- grain:       one row per account, day and control read from a settings
--              snapshot: the account settings (session controls) and the
--              password rules (password controls)
-- primary key: (dt, account_id, control_id)
-- window:      window_start <= dt < window_end
-- lookbacks:   none: the snapshots of that very day
-- controls:    one row each in `controls` below: (control_id, snapshot, ok,
--              observed, setting_key, problem). No snapshot that day, or a
--              null `observed` (the setting could not be read), makes the
--              status unknown with status_reason saying why; otherwise
--              `problem` is the reason, if any.

with

snapshot_values as (
    select
        account_days.dt,
        account_days.account_id,
        settings.settings_document as settings_doc,
        rules.rules_document as doc,
        {
            'name': 'account settings',
            'found': settings.account_id is not null,
            'doc': settings_doc,
            'taken_at': settings.snapshot_taken_at
        } as settings_snapshot,
        {
            'name': 'password rules',
            'found': rules.account_id is not null,
            'doc': doc,
            'taken_at': rules.snapshot_taken_at
        } as rules_snapshot,

        ---------- account settings
        posture_int(
            settings.session_timeout_minutes, settings_doc, 'sessionTimeout'
        ) as session_timeout,
        posture_int(
            settings.mobile_session_timeout_minutes,
            settings_doc,
            'mobileSessionTimeout'
        ) as mobile_session_timeout,
        posture_bool(
            settings.disable_multiple_sessions,
            settings_doc,
            'disableMultipleSessions'
        ) as disable_multiple_sessions,
        posture_bool(
            settings.signer_must_login_to_sign,
            settings_doc,
            'signerMustLoginToSign'
        ) as signer_must_login,

        ---------- password rules
        posture_int(
            rules.minimum_password_length, doc, 'minimumPasswordLength'
        ) as min_length,
        posture_text(
            rules.password_strength_type, doc, 'passwordStrengthType'
        ) as strength_type,
        posture_bool(
            rules.password_include_upper_case, doc, 'passwordIncludeUpperCase'
        ) as include_upper,
        posture_bool(
            rules.password_include_lower_case, doc, 'passwordIncludeLowerCase'
        ) as include_lower,
        posture_bool(
            rules.password_include_digit, doc, 'passwordIncludeDigit'
        ) as include_digit,
        posture_bool(
            rules.password_include_special_character,
            doc,
            'passwordIncludeSpecialCharacter'
        ) as include_special,
        posture_bool(
            rules.password_include_digit_or_special_character,
            doc,
            'passwordIncludeDigitOrSpecialCharacter'
        ) as include_digit_or_special,
        posture_bool(rules.expire_password, doc, 'expirePassword')
            as expire_password,
        posture_int(rules.expire_password_days, doc, 'expirePasswordDays')
            as expire_days,
        posture_int(
            rules.lockout_duration_minutes, doc, 'lockoutDurationMinutes'
        ) as lockout_duration,
        posture_text(
            rules.lockout_duration_type, doc, 'lockoutDurationType'
        ) as lockout_type,
        posture_int(
            rules.minimum_password_age_days, doc, 'minimumPasswordAgeDays'
        ) as min_age_days,
        posture_int(rules.questions_required, doc, 'questionsRequired')
            as questions_required
    from posture_account_days as account_days
    left join posture_day_settings as settings
        on account_days.dt = settings.dt
        and account_days.account_id = settings.account_id
    left join posture_day_rules as rules
        on account_days.dt = rules.dt
        and account_days.account_id = rules.account_id
),

rules_derived as (
    select
        *,
        -- character classes the rules require; DocuSign defines medium as
        -- upper + lower + digit-or-special and strong as all four
        case strength_type
            when 'basic' then 0
            when 'medium' then 3
            when 'strong' then 4
            when 'custom' then
                case
                    when
                        include_upper is not null
                        and include_lower is not null
                        and include_digit is not null
                        and include_special is not null
                        and include_digit_or_special is not null
                        then include_upper::int + include_lower::int
                        + case
                            when include_digit and include_special then 2
                            when
                                include_digit
                                or include_special
                                or include_digit_or_special
                                then 1
                            else 0
                        end
                end
        end as classes_required,
        case
            when lockout_duration = 0 then 0
            else lockout_duration * case lockout_type
                when 'minutes' then 1
                when 'hours' then 60
                when 'days' then 1440
            end
        end as lockout_minutes,
        case
            when strength_type in ('basic', 'medium', 'strong', 'custom')
                then null
            when strength_type is not null
                then 'passwordStrengthType: unrecognized value '
                    || to_json(strength_type)::varchar
            else posture_missing(doc, 'passwordStrengthType')
        end as strength_problem,
        case
            when strength_type = 'custom'
                then concat_ws(
                    '; ',
                    case when include_upper is null then
                        posture_missing(doc, 'passwordIncludeUpperCase') end,
                    case when include_lower is null then
                        posture_missing(doc, 'passwordIncludeLowerCase') end,
                    case when include_digit is null then
                        posture_missing(doc, 'passwordIncludeDigit') end,
                    case when include_special is null then posture_missing(
                        doc, 'passwordIncludeSpecialCharacter') end,
                    case when include_digit_or_special is null then
                        posture_missing(
                            doc, 'passwordIncludeDigitOrSpecialCharacter')
                        end
                )
        end as classes_problem,
        coalesce(
            classes_required
            >= getvariable('posture_password_complexity_min_classes'),
            false
        )
        or coalesce(
            min_length
            >= getvariable('posture_password_length_without_complexity'),
            false
        ) as complex_enough
    from snapshot_values
),

final as (
    select
        dt,
        account_id,
        controls.control_id,
        posture_status(controls.ok) as status,
        controls.observed,
        case
            when not controls.snapshot.found
                then 'no ' || controls.snapshot.name || ' snapshot'
            when controls.observed is null
                then posture_missing(controls.snapshot.doc, controls.setting_key)
            else controls.problem
        end as status_reason,
        controls.snapshot.taken_at as evidence_taken_at
    from rules_derived,
        lateral (values
            (
                'session_timeout', settings_snapshot,
                session_timeout
                <= getvariable('posture_session_timeout_max_minutes'),
                'sessionTimeout = ' || session_timeout || ' minutes',
                'sessionTimeout', null
            ),
            (
                'mobile_session_timeout', settings_snapshot,
                mobile_session_timeout
                <= getvariable('posture_mobile_session_timeout_max_minutes'),
                'mobileSessionTimeout = ' || mobile_session_timeout
                || ' minutes',
                'mobileSessionTimeout', null
            ),
            (
                'multiple_sessions', settings_snapshot,
                disable_multiple_sessions,
                'disableMultipleSessions = ' || disable_multiple_sessions,
                'disableMultipleSessions', null
            ),
            (
                'signer_must_login', settings_snapshot, signer_must_login,
                'signerMustLoginToSign = ' || signer_must_login,
                'signerMustLoginToSign', null
            ),
            (
                'password_min_length', rules_snapshot,
                min_length >= getvariable('posture_password_min_length'),
                'minimumPasswordLength = ' || min_length,
                'minimumPasswordLength', null
            ),
            (
                'password_complexity', rules_snapshot,
                case
                    when complex_enough then true
                    when classes_required is not null and min_length is not null
                        then false
                end,
                concat_ws(
                    ', ',
                    'passwordStrengthType = ' || strength_type,
                    classes_required || ' character classes required',
                    'minimumPasswordLength = ' || min_length
                ),
                null,
                case
                    when complex_enough then null
                    when classes_required is null or min_length is null
                        then nullif(concat_ws(
                            '; ',
                            strength_problem,
                            nullif(classes_problem, ''),
                            case when min_length is null then
                                posture_missing(doc, 'minimumPasswordLength') end
                        ), '')
                end
            ),
            (
                'password_expiry', rules_snapshot,
                case getvariable('posture_password_expiry')
                    when 'never' then not expire_password
                    else case
                        when not expire_password then false
                        when expire_days is not null
                            then expire_days between 1 and getvariable(
                                'posture_password_expiry_max_days'
                            )
                    end
                end,
                case
                    when expire_password
                        then 'expirePassword = true, expirePasswordDays = '
                            || coalesce(expire_days::varchar, 'unknown')
                    when not expire_password then 'expirePassword = false'
                end,
                'expirePassword',
                case
                    when
                        getvariable('posture_password_expiry') = 'max_days'
                        and expire_password
                        and expire_days is null
                        then posture_missing(doc, 'expirePasswordDays')
                end
            ),
            (
                'password_lockout', rules_snapshot,
                lockout_minutes
                >= getvariable('posture_password_lockout_min_minutes'),
                case
                    when lockout_duration = 0
                        then 'lockoutDurationMinutes = 0 (no lockout)'
                    else 'lockoutDurationMinutes = ' || lockout_duration
                        || ' ' || coalesce(lockout_type, '(unit unknown)')
                end,
                'lockoutDurationMinutes',
                case
                    when lockout_minutes is null and lockout_type is not null
                        then 'lockoutDurationType: unrecognized value '
                            || to_json(lockout_type)::varchar
                    when lockout_minutes is null
                        then posture_missing(doc, 'lockoutDurationType')
                end
            ),
            (
                'password_minimum_age', rules_snapshot,
                min_age_days >= getvariable('posture_password_min_age_days'),
                'minimumPasswordAgeDays = ' || min_age_days,
                'minimumPasswordAgeDays', null
            ),
            (
                'password_security_questions', rules_snapshot,
                questions_required
                <= getvariable('posture_password_max_security_questions'),
                'questionsRequired = ' || questions_required,
                'questionsRequired', null
            )
        ) as controls (control_id, snapshot, ok, observed, setting_key, problem)
)

select * from final
