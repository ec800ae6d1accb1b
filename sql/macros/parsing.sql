-- Parsing helpers used by the staging models. Created in every model connection
-- and in warehouse.duckdb, so the staging views work in both places.

-- trim(s), which strips the Unicode space separators (' ', no-break space,
-- ideographic space, ...) from both ends, run only where an end is not a
-- printable ASCII character: hardly any value needs it, and trim on every
-- row was most of the cost of reading a month of user ids
create or replace macro trimmed(s) as
    case
        when s[1] between '!' and '~' and s[-1] between '!' and '~' then s
        else trim(s)
    end;

-- '' and whitespace-only strings are missing values.
create or replace macro blank_to_null(s) as
    nullif(trimmed(s), '');

-- s without a leading prefix (a literal, not a pattern); s when it has none.
create or replace macro strip_prefix(s, prefix) as
    case
        when starts_with(s, prefix) then substr(s, length(prefix) + 1)
        else s
    end;

-- DocuSign timestamps -> timestamptz in UTC.
-- Monitor sends 7 fractional digits and a 'Z' (the 7th digit is truncated);
-- the Admin API sends no zone at all (DOCUSIGN_API.md §2.3): read as UTC;
-- eSignature uses 0001-01-01... as "unset", and sometimes
-- MM/DD/YYYY hh:mm:ss AM.
create or replace macro ds_timestamp(s) as
    case
        when blank_to_null(s) is null then null
        when starts_with(trimmed(s), '0001-01-01') then null
        when regexp_matches(trimmed(s), '(Z|z|[+-]\d\d(:?\d\d)?)$')
            then try_cast(trimmed(s) as timestamptz)
        else timezone(
            'UTC',
            coalesce(
                try_cast(trimmed(s) as timestamp),
                try_strptime(trimmed(s), '%m/%d/%Y %I:%M:%S %p')
            )
        )
    end;

-- eSignature sends booleans as strings in any case ("true", "False").
create or replace macro ds_bool(s) as
    case lower(trim(s))
        when 'true' then true
        when '1' then true
        when 'yes' then true
        when 'false' then false
        when '0' then false
        when 'no' then false
    end;

-- 'ActivationSent' and 'activation_sent' -> 'activation_sent'.
create or replace macro ds_status(s) as
    lower(regexp_replace(trim(s), '([a-z])([A-Z])', '\1_\2', 'g'));

-- The comparison form of a country spelling; dsassets.lib.intel.geo.country_key
-- stores the lookup keys in the same form. Every audit event's country goes
-- through it, and hardly any spelling has a curly quote or a run of whitespace:
-- replace and regexp_replace run only on the ones that do (run on every event,
-- they took half of the time one day's country lookup took).
create or replace macro straight_quotes(s) as
    case
        when contains(s, '’') or contains(s, '‘')
            then replace(replace(s, '’', ''''), '‘', '''')
        else s
    end;

-- RE2's \s is [\t\n\f\r ]: a spelling without a tab, newline, form feed,
-- carriage return or two spaces in a row has no whitespace to collapse.
create or replace macro collapse_whitespace(s) as
    case
        when contains(s, '  ') or contains(s, chr(9)) or contains(s, chr(10))
            or contains(s, chr(12)) or contains(s, chr(13))
            then regexp_replace(s, '\s+', ' ', 'g')
        else s
    end;

create or replace macro country_key(s) as
    collapse_whitespace(straight_quotes(strip_accents(lower(trim(s)))));
