-- policy_events
-- grain:       one row per audit event in the policy's window plus its
--              lookback, with the attributes of the event itself that
--              activity policies filter on and their alerts show
-- primary key: event_id
-- window:      window_start - pol_lookback_days <= dt < window_end
-- inputs:      activities (mart)
-- notes:       is_managed_user / is_affected_user_managed: claimed domain
--              (true) or external (false), null when unknown. A policy
--              whose filters name no IP class and not is_admin matches
--              here; one that does matches policy_activity, which adds them
--              (dsassets/lib/policies/compile.py, ENRICHED_FIELDS)

with

final as (
    select
        event_id,
        event_at,
        dt,
        scope,
        account_id,
        user_id,
        user_email,
        is_managed_user,
        affected_user_id,
        affected_user_email,
        is_affected_user_managed,
        object,
        action,
        property,
        old_value,
        new_value,
        result,
        source,
        signin_class,
        ip_address,
        ip_hex,
        country_code,
        city,
        user_agent
    from activities
    where in_lookback_window(dt, getvariable('pol_lookback_days'))
)

select * from final
