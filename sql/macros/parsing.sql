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

-- Runs of whitespace become one space, and none is left at either end.
-- Whitespace is what Python's str.isspace() and re's \s call it, so the key is
-- the one dsassets.lib.intel.geo.country_key stores: \t \n \v \f \r, \x1c-\x1f,
-- the space, next line, no-break space, the other Unicode space separators, and
-- the line and paragraph separators. RE2's own \s is only [\t\n\f\r ], and
-- trim strips none of the controls: 'Germany' + a tab, or 'United' + a no-break
-- space + 'States', found no country. Printable ASCII words with one space
-- between them (nearly every spelling) have nothing to squeeze: one full match
-- is cheaper than the replace it skips (over a million-event day's 1.2M
-- countries, 0.06 s against 0.14 s).
create or replace macro squeeze_whitespace(s) as
    case
        when regexp_full_match(s, '[!-~]+( [!-~]+)*') then s
        else trim(regexp_replace(
            s,
            '[\t-\r\x1c-\x20\x85\xa0\x{1680}\x{2000}-\x{200a}\x{2028}\x{2029}\x{202f}\x{205f}\x{3000}]+',
            ' ',
            'g'
        ))
    end;

create or replace macro country_key(s) as
    squeeze_whitespace(straight_quotes(strip_accents(lower(s))));
