-- int_user_lifecycle_events
-- grain:       one row per successful user-lifecycle audit event
--              (membership opened/closed, profile change, organization user
--              and admin changes), as classified by event_types in
--              dsassets.yaml
-- primary key: event_id
-- window:      window_start <= dt < window_end
-- notes:       reads the activities mart, whose events are already parsed
--              and classified (from staging, a million events parsed again
--              took 0.5 s against 0.08 s)

with

events as (
    select * from activities
    where
        in_window(dt)
        and event_type is not null
        and event_type <> 'account_setting_changed'
        and coalesce(lower(result), '') not in ('failed', 'failure')
),

final as (
    select
        event_id,
        event_at,
        dt,
        event_type,
        scope,
        organization_id,
        account_id,
        user_id as actor_user_id,
        coalesce(affected_user_id, referenced_user_id) as user_id,
        permission_profile_id,
        case event_type
            when 'membership_opened' then 'active'
            when 'membership_reopened' then 'active'
            when 'membership_closed' then 'closed'
        end as membership_status,
        case event_type
            when 'organization_user_added' then 'active'
            when 'organization_user_closed' then 'closed'
        end as organization_user_status,
        case event_type
            when 'organization_admin_added' then true
            when 'organization_admin_removed' then false
        end as is_organization_admin
    from events
)

select * from final
