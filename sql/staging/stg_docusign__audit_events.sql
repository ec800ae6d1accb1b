-- stg_docusign__audit_events
-- grain:       one row per raw Monitor event, 1:1 with the raw dataset
-- primary key: event_id (checked on the activities mart)
-- window:      none; a view over every partition, callers filter on dt
-- joins:       country_codes only (country names and codes -> ISO 3166 alpha-2)
-- macros:      ds_timestamp, blank_to_null, country_key (macros/parsing.sql);
--              signin_outcome, signin_is_interactive, event_type
--              (rendered from dsassets.yaml)

with

source as (
    select * from raw_docusign_audit_events
),

-- each JSON document parsed once for all the fields read from it (one
-- json_extract per field parsed ipAddressLocation five times and data four)
parsed as (
    select
        *,
        json_extract_string(
            ipAddressLocation, ['$.country', '$.state', '$.city']
        ) as location_text,
        json_extract(ipAddressLocation, ['$.latitude', '$.longitude'])
            as location_json,
        json_extract_string(data, ['$.AffectedUserId', '$.PermissionProfileId'])
            as data_text,
        json_extract(data, ['$.OldValue', '$.NewValue']) as data_json
    from source
),

countries as (
    select * from country_codes
),

renamed as (
    select
        ---------- ids
        blank_to_null(eventId) as event_id,
        blank_to_null(accountId) as account_id,
        blank_to_null(organizationId) as organization_id,
        blank_to_null(userId) as user_id,
        blank_to_null(referencedUserId) as referenced_user_id,
        coalesce(
            blank_to_null(affectedUserId),
            blank_to_null(data_text[1])
        ) as affected_user_id,
        blank_to_null(integratorKey) as integrator_key,
        blank_to_null(site) as site,

        ---------- timestamps
        coalesce(ds_timestamp("timestamp"), _event_time) as event_at,
        "timestamp" as event_timestamp_raw,
        _extracted_at as extracted_at,
        dt,

        ---------- what happened
        blank_to_null("object") as object,
        blank_to_null("action") as action,
        blank_to_null("property") as property,
        blank_to_null("field") as field,
        blank_to_null("result") as result,
        blank_to_null("source") as source,
        blank_to_null(data_text[2]) as permission_profile_id,
        data_json[1] as old_value,
        data_json[2] as new_value,

        ---------- where from
        blank_to_null(ipAddress) as ip_address_raw,
        coalesce(
            blank_to_null(location_text[1]),
            blank_to_null(country)
        ) as docusign_country_raw,
        coalesce(
            try_cast(location_json[1] as double),
            latitude
        ) as docusign_latitude,
        coalesce(
            try_cast(location_json[2] as double),
            longitude
        ) as docusign_longitude,
        coalesce(
            blank_to_null(location_text[2]),
            blank_to_null(state)
        ) as docusign_region,
        coalesce(
            blank_to_null(location_text[3]),
            blank_to_null(city)
        ) as docusign_city,

        ---------- client
        blank_to_null(userAgent) as user_agent,
        blank_to_null(device) as device,
        blank_to_null(browser) as browser,
        blank_to_null(os) as os,
        blank_to_null(proxyStatus) as proxy_status,
        blank_to_null(proxyType) as proxy_type,
        blank_to_null(proxyLevel) as proxy_level,

        ---------- membership flags
        isUserMemberOfDomain as is_user_member_of_domain,
        referencedUserIsMemberOfDomain as is_referenced_user_member_of_domain,
        affectedUserIsMemberOfDomain as is_affected_user_member_of_domain,

        ---------- forensics
        userAgentClientInfo as user_agent_client_info,
        ipAddressLocation as ip_address_location,
        data,
        _raw as raw_event,
        _source as extracted_from

    from parsed
),

classified as (
    select
        renamed.*,
        case
            when account_id is null then 'organization' else 'account'
        end as scope,
        signin_outcome(object, action, result, source) as signin_outcome,
        signin_is_interactive(object, action, result, source)
            as is_interactive_signin,
        event_type(object, action, result, source) as event_type,
        country_key(docusign_country_raw) as docusign_country_key
    from renamed
),

final as (
    select
        classified.* exclude (docusign_country_key),
        countries.country_code as docusign_country_code,
        case
            when classified.docusign_country_raw is null then 'missing'
            when countries.country_code is null then 'unrecognized'
            else 'recognized'
        end as docusign_country_status
    from classified
    left join countries
        on classified.docusign_country_key = countries.country_key
)

select * from final
