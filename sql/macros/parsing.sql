-- Parsing helpers used by the staging models. Created in every model connection
-- and in warehouse.duckdb, so the staging views work in both places.

-- Whitespace is what Python's str.isspace() calls it (29 code points): \t \n
-- \v \f \r, \x1c-\x1f, the space, next line, no-break space, the other Unicode
-- space separators, and the line and paragraph separators. DuckDB's trim(s)
-- strips only the 17 space separators and RE2's \s is only [\t\n\f\r ], so a
-- directory export's 'alice@example.com' + a tab, or a tab-only value, kept it.
-- whitespace_chars() (the set as a string) and whitespace_class() (as an RE2
-- class) are created before this file by dsassets.lib.transform.sql, from
-- Python's list, as literals: a SQL string cannot spell most of these
-- characters, and building the string here (chr() over a list) made each use
-- slower to bind (60 calls of trimmed: 155 ms against 100 ms), and a models
-- run about 1 s slower.

-- s without whitespace at either end (Python's s.strip()). trim(s, chars)
-- costs ten times trim(s), so it runs only where an end is whitespace. Both
-- ends printable ASCII (nearly every value) is the first check; '' and null
-- come before the contains() test, which is true for '' (every empty field
-- would take the trim: +0.06 s per column of a million-event day). Over 2M
-- values (count and max): ASCII 0.053 s (old macro 0.058), names in kana
-- 0.058 s (0.086), empty 0.021 s (0.024); padded 0.95 s (0.085 s, stripping
-- less). Each staging column binds the macro once per query that reads it:
-- 60 calls bind in 120 ms, the old macro's in 80 ms, and with a regexp in
-- place of trim(s, chars) (0.3 s on padded values) in 145 ms. A models run of
-- a million-event day: 17.12 s against 16.93 s before (three pairs).
create or replace macro trimmed(s) as
    case
        when s[1] between '!' and '~' and s[-1] between '!' and '~' then s
        when s is null or s = '' then s
        when contains(whitespace_chars(), s[1])
             or contains(whitespace_chars(), s[-1])
            then trim(s, whitespace_chars())
        else s
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
    case lower(trimmed(s))
        when 'true' then true
        when '1' then true
        when 'yes' then true
        when 'false' then false
        when '0' then false
        when 'no' then false
    end;

-- 'ActivationSent' and 'activation_sent' -> 'activation_sent'.
create or replace macro ds_status(s) as
    lower(regexp_replace(trimmed(s), '([a-z])([A-Z])', '\1_\2', 'g'));

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

-- Runs of whitespace (see whitespace_class) become one space, and none is left
-- at either end, so the key is the one dsassets.lib.intel.geo.country_key
-- stores: 'Germany' + a tab, or 'United' + a no-break space + 'States', finds
-- its country. Printable ASCII words with one space between them (nearly every
-- spelling) have nothing to squeeze: one full match is cheaper than the
-- replace it skips (over a million-event day's 1.2M countries, 0.06 s against
-- 0.14 s).
create or replace macro squeeze_whitespace(s) as
    case
        when regexp_full_match(s, '[!-~]+( [!-~]+)*') then s
        else trim(regexp_replace(s, whitespace_class() || '+', ' ', 'g'))
    end;

create or replace macro country_key(s) as
    squeeze_whitespace(straight_quotes(strip_accents(lower(s))));
