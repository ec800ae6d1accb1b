-- activities
-- grain:       one row per audit event, normalized (1:1 with the raw events)
-- primary key: event_id
-- window:      window_start <= dt < window_end
-- lookbacks:   user emails from every directory snapshot (organization users,
--              memberships, account users): the latest one on or before the
--              event's day, else the earliest one after it; read from
--              int_user_directory_changes, the days an address changed
-- managed:     is_managed_user is Monitor's isUserMemberOfDomain; when an
--              event lacks it, whether the e-mail's domain is an active
--              reserved domain of the organization (the latest domain
--              snapshot on or before the event's day, else the earliest)
-- location:    DocuSign's ipAddressLocation when its country is usable,
--              else the offline IP database (int_ip_addresses); the choice
--              is kept in location_source ('docusign' | 'ip_lookup' | null)
-- refresh:     each row reads one event and nothing of the day's other events,
--              so a refresh whose only change is new raw part files adds their
--              rows (models.py: grows); keep it so, or drop the grows there

with

-- not materialized: three parts read it, and materializing a day's wide rows
-- (each with its raw JSON) cost more than scanning the Parquet three times,
-- twice for a few narrow columns (a million events: 16 s -> 13 s, no spill)
events as not materialized (
    select * from stg_docusign__audit_events
    where in_window(dt)
),

ip_addresses as (
    select * from int_ip_addresses
    where in_window(dt)
),

directory_changes as (
    select user_id, dt, email from int_user_directory_changes
),

directory_earliest as (
    select
        user_id,
        arg_min(email, dt) as email
    from directory_changes
    group by all
),

domain_snapshots as (
    select
        dt,
        list(host_name order by host_name) filter (where is_active) as hosts
    from stg_docusign__reserved_domains
    group by all
),

event_days as (
    select distinct dt from events
),

day_domains as (
    select
        event_days.dt,
        coalesce(
            domains_before.hosts,
            (select arg_min(hosts, dt) from domain_snapshots)
        ) as hosts
    from event_days
    asof left join domain_snapshots as domains_before
        on event_days.dt >= domains_before.dt
),

-- resolve each (user, day) once, then hash-join back to the events: an ASOF
-- join over a million wide event rows would sort them all
event_users as (
    select distinct user_id, dt from events where user_id is not null
    union
    select distinct affected_user_id as user_id, dt from events
    where affected_user_id is not null
),

user_emails as (
    select
        event_users.user_id,
        event_users.dt,
        coalesce(email_asof.email, email_earliest.email) as email
    from event_users
    asof left join directory_changes as email_asof
        on event_users.user_id = email_asof.user_id
        and event_users.dt >= email_asof.dt
    left join directory_earliest as email_earliest
        on event_users.user_id = email_earliest.user_id
),

with_users as (
    select
        events.*,
        actor.email as user_email,
        affected.email as affected_user_email
    from events
    left join user_emails as actor
        on events.user_id = actor.user_id
        and events.dt = actor.dt
    left join user_emails as affected
        on events.affected_user_id = affected.user_id
        and events.dt = affected.dt
),

with_managed as (
    select
        with_users.*,
        nullif(lower(split_part(user_email, '@', 2)), '') as user_domain,
        coalesce(
            is_user_member_of_domain,
            list_contains(
                day_domains.hosts, lower(split_part(user_email, '@', 2))
            )
        ) as is_managed_user,
        case
            when affected_user_id is not null
                then coalesce(
                    is_affected_user_member_of_domain,
                    list_contains(
                        day_domains.hosts,
                        lower(split_part(affected_user_email, '@', 2))
                    )
                )
        end as is_affected_user_managed
    from with_users
    left join day_domains on with_users.dt = day_domains.dt
),

with_ips as (
    select
        with_managed.*,
        ip_addresses.ip_address,
        ip_addresses.ip_version,
        ip_addresses.is_valid_ip,
        ip_addresses.is_global_ip,
        ip_addresses.ip_hex,
        ip_addresses.lookup_country_code,
        ip_addresses.lookup_latitude,
        ip_addresses.lookup_longitude,
        ip_addresses.lookup_region,
        ip_addresses.lookup_city,
        case
            when with_managed.docusign_country_code is not null then 'docusign'
            when ip_addresses.lookup_country_code is not null then 'ip_lookup'
            when with_managed.docusign_latitude is not null then 'docusign'
        end as location_source
    from with_managed
    left join ip_addresses
        on with_managed.dt = ip_addresses.dt
        and with_managed.ip_address_raw = ip_addresses.ip_address_raw
),

final as (
    select
        ---------- ids
        event_id,
        event_at,
        dt,
        scope,
        organization_id,
        account_id,

        ---------- who
        user_id,
        user_email,
        case
            when user_id is null then 'none'
            when user_email is not null then 'known'
            else 'unknown'
        end as user_match,
        user_domain,
        is_managed_user,

        ---------- what
        object,
        action,
        property,
        field,
        result,
        source,
        event_type,
        signin_outcome is not null as is_signin,
        signin_outcome,
        is_interactive_signin,
        case
            when signin_outcome is not null
                then
                    case
                        when is_interactive_signin then 'interactive_'
                        else 'non_interactive_'
                    end || signin_outcome
        end as signin_class,

        ---------- where from
        ip_address,
        ip_address_raw,
        case
            when ip_address_raw is null then 'missing'
            when is_valid_ip then 'valid'
            else 'invalid'
        end as ip_status,
        ip_version,
        is_global_ip,
        ip_hex,
        case location_source
            when 'docusign' then docusign_country_code
            when 'ip_lookup' then lookup_country_code
        end as country_code,
        case location_source
            when 'docusign' then docusign_latitude
            when 'ip_lookup' then lookup_latitude
        end as latitude,
        case location_source
            when 'docusign' then docusign_longitude
            when 'ip_lookup' then lookup_longitude
        end as longitude,
        case location_source
            when 'docusign' then docusign_region
            when 'ip_lookup' then lookup_region
        end as region,
        case location_source
            when 'docusign' then docusign_city
            when 'ip_lookup' then lookup_city
        end as city,
        location_source,
        docusign_country_raw,
        docusign_country_status,

        ---------- whom
        affected_user_id,
        affected_user_email,
        is_affected_user_managed,
        referenced_user_id,
        permission_profile_id,
        old_value,
        new_value,

        ---------- client
        user_agent,
        device,
        browser,
        os,
        proxy_status,
        proxy_type,
        proxy_level,
        integrator_key,
        site,

        ---------- forensics: the event as DocuSign sent it, so an analyst
        -- needs no join to the raw layer (which keeps it too). Re-encoding
        -- raw_event is the largest part of this model's cost: at a million
        -- events the step took about 8 s with it and 5 s without
        event_timestamp_raw,
        extracted_at,
        extracted_from,
        data,
        raw_event
    from with_ips
)

select * from final
