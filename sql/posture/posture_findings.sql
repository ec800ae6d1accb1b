-- posture_findings
-- grain:       one row per account, enabled control and day
-- primary key: (dt, account_id, control_id)
-- window:      window_start <= dt < window_end
-- lookbacks:   none of its own: settings and password rules must have a
--              snapshot on that very day (no carrying an old one forward);
--              user controls read users/user_accounts, which have their own
-- accounts:    every account in that day's accounts, settings, password-rule
--              or membership data
-- inputs:      posture_controls (catalog from dsassets/lib/posture/controls.py, only
--              enabled controls) and getvariable('posture_*') thresholds
--              from dsassets.yaml
-- status:      'pass' | 'fail' | 'unknown'. Unknown when the data is missing
--              or unreadable (status_reason says which and why); it earns no
--              points. Never a pass by default.

with

---------- snapshots of the day

accounts as (
    select
        dt,
        account_id,
        any_value(organization_id) as organization_id,
        any_value(account_name) as account_name
    from stg_docusign__accounts
    where
        dt >= getvariable('window_start')
        and dt < getvariable('window_end')
        and account_id is not null
    group by all
),

settings as (
    select * from stg_docusign__account_settings
    where
        dt >= getvariable('window_start')
        and dt < getvariable('window_end')
        and account_id is not null
    qualify
        row_number() over (
            partition by dt, account_id order by snapshot_taken_at desc
        ) = 1
),

-- staging keeps only the typed columns; the document as sent explains a
-- missing value and is read when a typed value is null
rules_documents as (
    select
        dt,
        blank_to_null(account_id) as account_id,
        _snapshot_taken_at as snapshot_taken_at,
        _raw as rules_document
    from raw_docusign_password_rules
    where
        dt >= getvariable('window_start')
        and dt < getvariable('window_end')
),

rules as (
    select
        rules.*,
        docs.rules_document
    from stg_docusign__password_rules as rules
    left join rules_documents as docs
        on rules.dt = docs.dt
        and rules.account_id = docs.account_id
        and rules.snapshot_taken_at is not distinct from docs.snapshot_taken_at
    where
        rules.dt >= getvariable('window_start')
        and rules.dt < getvariable('window_end')
        and rules.account_id is not null
    qualify
        row_number() over (
            partition by rules.dt, rules.account_id
            order by rules.snapshot_taken_at desc
        ) = 1
),

memberships as (
    select * from user_accounts
    where
        dt >= getvariable('window_start')
        and dt < getvariable('window_end')
        and account_id is not null
),

users_of_day as (
    select * from users
    where
        dt >= getvariable('window_start')
        and dt < getvariable('window_end')
),

organization_users as (
    select * from stg_docusign__organization_users
    where
        dt >= getvariable('window_start')
        and dt < getvariable('window_end')
        and user_id is not null
    qualify
        row_number() over (
            partition by dt, user_id order by snapshot_taken_at desc
        ) = 1
),

---------- one row per account and day

membership_accounts as (
    select
        dt,
        account_id,
        any_value(organization_id) as organization_id,
        any_value(account_name) as account_name
    from memberships
    group by all
),

spine as (
    select dt, account_id from accounts
    union
    select dt, account_id from settings
    union
    select dt, account_id from rules
    union
    select dt, account_id from membership_accounts
),

account_days as (
    select
        spine.dt,
        spine.account_id,
        coalesce(accounts.organization_id, membership_accounts.organization_id)
            as organization_id,
        coalesce(accounts.account_name, membership_accounts.account_name)
            as account_name,
        timezone('UTC', (spine.dt + 1)::timestamp) as day_end
    from spine
    left join accounts
        on spine.dt = accounts.dt
        and spine.account_id = accounts.account_id
    left join membership_accounts
        on spine.dt = membership_accounts.dt
        and spine.account_id = membership_accounts.account_id
),

---------- account settings

settings_values as (
    select
        account_days.dt,
        account_days.account_id,
        settings.account_id is not null as has_snapshot,
        settings.snapshot_taken_at,
        posture_int(
            settings.session_timeout_minutes,
            settings.settings_document,
            'sessionTimeout'
        ) as session_timeout,
        posture_missing(settings.settings_document, 'sessionTimeout')
            as session_timeout_missing,
        posture_int(
            settings.mobile_session_timeout_minutes,
            settings.settings_document,
            'mobileSessionTimeout'
        ) as mobile_session_timeout,
        posture_missing(settings.settings_document, 'mobileSessionTimeout')
            as mobile_session_timeout_missing,
        posture_bool(
            settings.disable_multiple_sessions,
            settings.settings_document,
            'disableMultipleSessions'
        ) as disable_multiple_sessions,
        posture_missing(
            settings.settings_document, 'disableMultipleSessions'
        ) as disable_multiple_sessions_missing,
        posture_bool(
            settings.signer_must_login_to_sign,
            settings.settings_document,
            'signerMustLoginToSign'
        ) as signer_must_login,
        posture_missing(settings.settings_document, 'signerMustLoginToSign')
            as signer_must_login_missing
    from account_days
    left join settings
        on account_days.dt = settings.dt
        and account_days.account_id = settings.account_id
),

settings_findings as (
    select
        dt,
        account_id,
        'session_timeout' as control_id,
        posture_status(
            session_timeout
            <= getvariable('posture_session_timeout_max_minutes')
        ) as status,
        'sessionTimeout = ' || session_timeout || ' minutes' as observed,
        case
            when not has_snapshot then 'no account settings snapshot'
            when session_timeout is null then session_timeout_missing
        end as status_reason,
        snapshot_taken_at as evidence_taken_at
    from settings_values

    union all

    select
        dt,
        account_id,
        'mobile_session_timeout' as control_id,
        posture_status(
            mobile_session_timeout
            <= getvariable('posture_mobile_session_timeout_max_minutes')
        ) as status,
        'mobileSessionTimeout = ' || mobile_session_timeout || ' minutes'
            as observed,
        case
            when not has_snapshot then 'no account settings snapshot'
            when mobile_session_timeout is null
                then mobile_session_timeout_missing
        end as status_reason,
        snapshot_taken_at as evidence_taken_at
    from settings_values

    union all

    select
        dt,
        account_id,
        'multiple_sessions' as control_id,
        posture_status(disable_multiple_sessions) as status,
        'disableMultipleSessions = ' || disable_multiple_sessions as observed,
        case
            when not has_snapshot then 'no account settings snapshot'
            when disable_multiple_sessions is null
                then disable_multiple_sessions_missing
        end as status_reason,
        snapshot_taken_at as evidence_taken_at
    from settings_values

    union all

    select
        dt,
        account_id,
        'signer_must_login' as control_id,
        posture_status(signer_must_login) as status,
        'signerMustLoginToSign = ' || signer_must_login as observed,
        case
            when not has_snapshot then 'no account settings snapshot'
            when signer_must_login is null then signer_must_login_missing
        end as status_reason,
        snapshot_taken_at as evidence_taken_at
    from settings_values
),

---------- password rules

rules_values as (
    select
        account_days.dt,
        account_days.account_id,
        rules.account_id is not null as has_snapshot,
        rules.snapshot_taken_at,
        rules.rules_document as doc,
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
    from account_days
    left join rules
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
        end as classes_problem
    from rules_values
),

rules_findings as (
    select
        dt,
        account_id,
        'password_min_length' as control_id,
        posture_status(
            min_length >= getvariable('posture_password_min_length')
        ) as status,
        'minimumPasswordLength = ' || min_length as observed,
        case
            when not has_snapshot then 'no password rules snapshot'
            when min_length is null
                then posture_missing(doc, 'minimumPasswordLength')
        end as status_reason,
        snapshot_taken_at as evidence_taken_at
    from rules_derived

    union all

    select
        dt,
        account_id,
        'password_complexity' as control_id,
        posture_status(
            case
                when
                    classes_required
                    >= getvariable('posture_password_complexity_min_classes')
                    then true
                when
                    min_length
                    >= getvariable('posture_password_length_without_complexity')
                    then true
                when classes_required is not null and min_length is not null
                    then false
            end
        ) as status,
        concat_ws(
            ', ',
            'passwordStrengthType = ' || strength_type,
            classes_required || ' character classes required',
            'minimumPasswordLength = ' || min_length
        ) as observed,
        case
            when not has_snapshot then 'no password rules snapshot'
            when
                classes_required
                >= getvariable('posture_password_complexity_min_classes')
                or min_length
                >= getvariable('posture_password_length_without_complexity')
                then null
            when classes_required is null or min_length is null
                then nullif(concat_ws(
                    '; ',
                    strength_problem,
                    nullif(classes_problem, ''),
                    case when min_length is null then
                        posture_missing(doc, 'minimumPasswordLength') end
                ), '')
        end as status_reason,
        snapshot_taken_at as evidence_taken_at
    from rules_derived

    union all

    select
        dt,
        account_id,
        'password_expiry' as control_id,
        posture_status(
            case getvariable('posture_password_expiry')
                when 'never' then not expire_password
                else case
                    when not expire_password then false
                    when expire_days is not null
                        then expire_days between 1 and getvariable(
                            'posture_password_expiry_max_days'
                        )
                end
            end
        ) as status,
        case
            when expire_password
                then 'expirePassword = true, expirePasswordDays = '
                    || coalesce(expire_days::varchar, 'unknown')
            when not expire_password then 'expirePassword = false'
        end as observed,
        case
            when not has_snapshot then 'no password rules snapshot'
            when expire_password is null
                then posture_missing(doc, 'expirePassword')
            when
                getvariable('posture_password_expiry') = 'max_days'
                and expire_password
                and expire_days is null
                then posture_missing(doc, 'expirePasswordDays')
        end as status_reason,
        snapshot_taken_at as evidence_taken_at
    from rules_derived

    union all

    select
        dt,
        account_id,
        'password_lockout' as control_id,
        posture_status(
            lockout_minutes
            >= getvariable('posture_password_lockout_min_minutes')
        ) as status,
        case
            when lockout_duration = 0
                then 'lockoutDurationMinutes = 0 (no lockout)'
            else 'lockoutDurationMinutes = ' || lockout_duration
                || ' ' || coalesce(lockout_type, '(unit unknown)')
        end as observed,
        case
            when not has_snapshot then 'no password rules snapshot'
            when lockout_duration is null
                then posture_missing(doc, 'lockoutDurationMinutes')
            when lockout_minutes is null and lockout_type is not null
                then 'lockoutDurationType: unrecognized value '
                    || to_json(lockout_type)::varchar
            when lockout_minutes is null
                then posture_missing(doc, 'lockoutDurationType')
        end as status_reason,
        snapshot_taken_at as evidence_taken_at
    from rules_derived

    union all

    select
        dt,
        account_id,
        'password_minimum_age' as control_id,
        posture_status(
            min_age_days >= getvariable('posture_password_min_age_days')
        ) as status,
        'minimumPasswordAgeDays = ' || min_age_days as observed,
        case
            when not has_snapshot then 'no password rules snapshot'
            when min_age_days is null
                then posture_missing(doc, 'minimumPasswordAgeDays')
        end as status_reason,
        snapshot_taken_at as evidence_taken_at
    from rules_derived

    union all

    select
        dt,
        account_id,
        'password_security_questions' as control_id,
        posture_status(
            questions_required
            <= getvariable('posture_password_max_security_questions')
        ) as status,
        'questionsRequired = ' || questions_required as observed,
        case
            when not has_snapshot then 'no password rules snapshot'
            when questions_required is null
                then posture_missing(doc, 'questionsRequired')
        end as status_reason,
        snapshot_taken_at as evidence_taken_at
    from rules_derived
),

---------- members: open memberships of users not closed in the organization

members as (
    select
        memberships.dt,
        memberships.account_id,
        memberships.user_id,
        coalesce(users_of_day.email, memberships.email, memberships.user_id)
            as email,
        coalesce(memberships.is_admin, false)
        or coalesce(users_of_day.is_organization_admin, false) as is_admin,
        memberships.opened_at,
        users_of_day.last_activity_at,
        users_of_day.idp_status,
        coalesce(
            len(
                list_filter(
                    users_of_day.closed_account_ids,
                    lambda x: x <> memberships.account_id
                )
            ),
            0
        ) > 0 as is_closed_elsewhere,
        organization_users.require_two_step_verification as requires_2sv,
        coalesce(
            getvariable('posture_two_step_verification_exempt_federated')
            and lower(organization_users.federated_status) = 'fedauthrequired',
            false
        ) as is_sso_exempt,
        timezone('UTC', (memberships.dt + 1)::timestamp)
        - to_days(getvariable('posture_inactive_admin_days')::int)
            as dormant_before,
        coalesce(
            getvariable('posture_audit_history_start')
            <= memberships.dt + 1
            - getvariable('posture_inactive_admin_days')::int,
            false
        ) as history_covers_window
    from memberships
    left join users_of_day
        on memberships.dt = users_of_day.dt
        and memberships.user_id = users_of_day.user_id
    left join organization_users
        on memberships.dt = organization_users.dt
        and memberships.user_id = organization_users.user_id
    where
        memberships.is_open
        and coalesce(users_of_day.organization_user_status, '')
        not in ('closed', 'removed')
),

members_summary as (
    select
        dt,
        account_id,
        count(*) as member_count,
        count(*) filter (where is_admin) as admin_count,
        coalesce(list(email order by email) filter (where is_admin), [])
            as admins,
        count(*) filter (where not is_sso_exempt) as two_step_scope,
        count(*) filter (where not is_sso_exempt and requires_2sv)
            as with_2sv,
        count(*) filter (where not is_sso_exempt and requires_2sv is null)
            as unknown_2sv,
        coalesce(
            list(email order by email)
                filter (where not is_sso_exempt and not requires_2sv),
            []
        ) as without_2sv,
        coalesce(
            list(
                email || ' (last activity '
                || strftime(last_activity_at, '%Y-%m-%d') || ')'
                order by email
            ) filter (where is_admin and last_activity_at < dormant_before),
            []
        ) || coalesce(
            list(email || ' (no activity in the audit log)' order by email)
                filter (
                    where
                        is_admin
                        and last_activity_at is null
                        and history_covers_window
                        and coalesce(opened_at < dormant_before, true)
                ),
            []
        ) as dormant_admins,
        coalesce(
            list(email order by email) filter (
                where
                    is_admin
                    and last_activity_at is null
                    and not history_covers_window
                    and coalesce(opened_at < dormant_before, true)
            ),
            []
        ) as admins_not_seen_yet,
        coalesce(
            list(email order by email) filter (where is_closed_elsewhere), []
        ) as closed_elsewhere,
        coalesce(
            list(email || ' (' || idp_status || ')' order by email) filter (
                where list_contains(
                    getvariable('posture_idp_statuses'), idp_status
                )
            ),
            []
        ) as idp_removed,
        bool_and(idp_status is null) as no_idp_snapshot
    from members
    group by all
),

membership_days as (
    select distinct dt, account_id from memberships
),

members_values as (
    select
        account_days.dt,
        account_days.account_id,
        account_days.day_end,
        membership_days.account_id is not null as has_membership_data,
        coalesce(members_summary.member_count, 0) as member_count,
        members_summary.* exclude (dt, account_id, member_count),
        case
            when membership_days.account_id is null
                then 'no membership data for this account'
            when coalesce(members_summary.member_count, 0) = 0
                then 'no active members in this account'
        end as no_members_reason
    from account_days
    left join membership_days
        on account_days.dt = membership_days.dt
        and account_days.account_id = membership_days.account_id
    left join members_summary
        on account_days.dt = members_summary.dt
        and account_days.account_id = members_summary.account_id
),

members_findings as (
    select
        dt,
        account_id,
        'two_step_verification' as control_id,
        posture_status(
            case
                when no_members_reason is not null then null
                when two_step_scope = 0 then true
                when
                    with_2sv * 100 >= getvariable(
                        'posture_two_step_verification_min_percent'
                    ) * two_step_scope
                    then true
                when
                    (with_2sv + unknown_2sv) * 100 < getvariable(
                        'posture_two_step_verification_min_percent'
                    ) * two_step_scope
                    then false
            end
        ) as status,
        case
            when no_members_reason is null
                then with_2sv || ' of ' || two_step_scope || ' members ('
                    || round(100.0 * with_2sv / nullif(two_step_scope, 0), 1)
                    || '%) require two-step verification'
                    || case
                        when len(without_2sv) > 0
                            then '; not required for '
                                || posture_sample(without_2sv, 5)
                        else ''
                    end
        end as observed,
        coalesce(
            no_members_reason,
            case
                when unknown_2sv > 0
                    then unknown_2sv || ' members have no '
                        || 'require_two_step_verification in the '
                        || 'organization-user snapshot of this day'
            end
        ) as status_reason,
        day_end as evidence_taken_at
    from members_values

    union all

    select
        dt,
        account_id,
        'admin_share' as control_id,
        posture_status(
            case
                when no_members_reason is not null then null
                else
                    admin_count * 100
                    <= getvariable('posture_admin_max_percent') * member_count
                    or admin_count <= getvariable('posture_admin_max_count')
            end
        ) as status,
        case
            when no_members_reason is null
                then posture_count(admin_count, 'administrator', 'administrators')
                    || ' of '
                    || posture_count(member_count, 'active member', 'active members')
                    || ' ('
                    || round(100.0 * admin_count / member_count, 1) || '%)'
                    || case
                        when admin_count > 0
                            then ': ' || posture_sample(admins, 5)
                        else ''
                    end
        end as observed,
        no_members_reason as status_reason,
        day_end as evidence_taken_at
    from members_values

    union all

    select
        dt,
        account_id,
        'inactive_admins' as control_id,
        posture_status(
            case
                when no_members_reason is not null then null
                when len(dormant_admins) > 0 then false
                when len(admins_not_seen_yet) > 0 then null
                else true
            end
        ) as status,
        case
            when no_members_reason is not null then null
            when len(dormant_admins) > 0
                then len(dormant_admins) || ' of '
                    || posture_count(admin_count, 'administrator', 'administrators')
                    || ' inactive: '
                    || posture_sample(dormant_admins, 5)
            else (admin_count - len(admins_not_seen_yet)) || ' of '
                || posture_count(admin_count, 'administrator', 'administrators')
                || ' active within '
                || getvariable('posture_inactive_admin_days') || ' days'
        end as observed,
        coalesce(
            no_members_reason,
            case
                when len(dormant_admins) = 0 and len(admins_not_seen_yet) > 0
                    then posture_count(
                            len(admins_not_seen_yet), 'administrator', 'administrators'
                        )
                        || ' without activity since the audit '
                        || 'history began ('
                        || coalesce(
                            getvariable('posture_audit_history_start')::varchar,
                            'no audit events in the lake'
                        )
                        || '), fewer than '
                        || getvariable('posture_inactive_admin_days')
                        || ' days ago: '
                        || posture_sample(admins_not_seen_yet, 5)
            end
        ) as status_reason,
        day_end as evidence_taken_at
    from members_values

    union all

    select
        dt,
        account_id,
        'users_closed_elsewhere' as control_id,
        posture_status(
            case
                when no_members_reason is not null then null
                else len(closed_elsewhere) = 0
            end
        ) as status,
        case
            when no_members_reason is null
                then posture_count(len(closed_elsewhere), 'active member', 'active members')
                    || ' closed in '
                    || 'another account'
                    || case
                        when len(closed_elsewhere) > 0
                            then ': ' || posture_sample(closed_elsewhere, 5)
                        else ''
                    end
        end as observed,
        no_members_reason as status_reason,
        day_end as evidence_taken_at
    from members_values

    union all

    select
        dt,
        account_id,
        'idp_deleted_users' as control_id,
        posture_status(
            case
                when no_members_reason is not null then null
                when len(idp_removed) > 0 then false
                when no_idp_snapshot then null
                else true
            end
        ) as status,
        case
            when no_members_reason is null and not no_idp_snapshot
                then posture_count(len(idp_removed), 'active member', 'active members')
                    || ' removed in the '
                    || 'identity provider'
                    || case
                        when len(idp_removed) > 0
                            then ': ' || posture_sample(idp_removed, 5)
                        else ''
                    end
        end as observed,
        coalesce(
            no_members_reason,
            case
                when no_idp_snapshot
                    then 'no identity-provider snapshot on or before this day'
            end
        ) as status_reason,
        day_end as evidence_taken_at
    from members_values
),

---------- together, with the catalog

evaluated as (
    select * from settings_findings
    union all
    select * from rules_findings
    union all
    select * from members_findings
),

final as (
    select
        evaluated.dt,
        account_days.organization_id,
        evaluated.account_id,
        account_days.account_name,
        evaluated.control_id,
        controls.title,
        controls.category,
        controls.severity,
        evaluated.status,
        evaluated.observed,
        controls.expected,
        evaluated.status_reason,
        controls.points as points_possible,
        case
            when evaluated.status = 'pass' then controls.points else 0
        end as points_achieved,
        controls.why_it_matters,
        controls.remediation,
        controls.reference,
        controls.evidence_source,
        evaluated.evidence_taken_at,
        controls.setting_keys,
        controls.control_order
    from evaluated
    inner join posture_controls as controls
        on evaluated.control_id = controls.control_id
    left join account_days
        on evaluated.dt = account_days.dt
        and evaluated.account_id = account_days.account_id
)

select * from final
