-- int_ip_addresses
-- grain:       one row per distinct IP address text per day of audit events
-- primary key: (dt, ip_address_raw)
-- window:      window_start <= dt < window_end
-- notes:       this query lists the addresses; the asset then parses each one
--              and looks up those that need a location, in Python over the
--              distinct addresses only (dsassets.lib.intel.geo.enrich_ips)

with

events as (
    select * from stg_docusign__audit_events
    where in_window(dt) and ip_address_raw is not null
),

final as (
    select
        dt,
        ip_address_raw,
        count(*) as event_count,
        -- DocuSign sent no usable country for at least one event from it
        bool_or(docusign_country_code is null) as needs_location
    from events
    group by all
)

select * from final
