-- int_user_directory_changes
-- grain:       one row per user per snapshot day on which the user's e-mail
--              differs from the day before: first listed, listed again after
--              a gap, or a new address (the day before had no snapshot: every
--              user listed that day)
-- primary key: (dt, user_id)
-- window:      window_start <= dt < window_end
-- lookbacks:   the day before the window
-- sources:     a day's e-mail is the organization user's, else the Admin API
--              membership's, else the eSignature account user's
-- notes:       activities resolves an event's user e-mail from these rows:
--              the latest change on or before a day has the address of the
--              latest snapshot listing the user on or before it, because
--              every day between them listed the same address. Reading every
--              snapshot instead made each day's activities cost grow with
--              the lake's history.

with

directory as (
    select user_id, email, dt, 1 as priority
    from stg_docusign__organization_users
    union all
    select user_id, email, dt, 2 as priority
    from stg_docusign__memberships
    union all
    select user_id, email, dt, 3 as priority
    from stg_docusign__account_users
),

daily as (
    select
        user_id,
        dt,
        -- the address itself breaks a tie within a source, so that a re-run
        -- gives the same address (one user listed twice by one source)
        arg_min(email, {'priority': priority, 'email': email}) as email
    from directory
    where
        user_id is not null
        and email is not null
        and dt >= getvariable('window_start') - 1
        and dt < getvariable('window_end')
    group by all
),

final as (
    select
        today.dt,
        today.user_id,
        today.email
    from daily as today
    anti join daily as day_before
        on today.user_id = day_before.user_id
        and today.dt - 1 = day_before.dt
        and today.email = day_before.email
    where in_window(today.dt)
)

select * from final
