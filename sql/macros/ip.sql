-- IP address arithmetic without the inet extension (extensions cannot be
-- downloaded at run time). Every address becomes 32 lowercase hex digits of
-- its 128-bit value, IPv4 as ::ffff:a.b.c.d, the same `ip_hex` form that
-- dsassets.lib.intel.geo.parse_ip stores, so a CIDR test is a string range test:
--     ip_hex between cidr_start_hex(c) and cidr_end_hex(c)

-- 'a.b.c.d' -> 0..2^32-1, null when malformed.
create or replace macro ip__v4_int(s) as
    case
        when regexp_full_match(s, '\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}')
            and list_max(
                list_transform(string_split(s, '.'), lambda x: x::ubigint)
            ) <= 255
            then list_reduce(
                list_transform(string_split(s, '.'), lambda x: x::ubigint),
                lambda acc, x: acc * 256 + x
            )
    end;

-- '::ffff:1.2.3.4' -> '::ffff:102:304': a trailing dotted quad becomes two
-- groups.
create or replace macro ip__v6_embedded_v4(s) as
    case
        when contains(s, '.')
            then regexp_replace(s, '[^:]*$', '')
                || printf(
                    '%x:%x',
                    ip__v4_int(regexp_extract(s, '[^:]*$')) // 65536,
                    ip__v4_int(regexp_extract(s, '[^:]*$')) % 65536
                )
        else s
    end;

create or replace macro ip__v6_side(s) as
    case when s = '' then []::varchar[] else string_split(s, ':') end;

create or replace macro ip__v6_fill(l, r) as
    list_concat(
        l, list_transform(range(8 - len(l) - len(r)), lambda x: '0'), r
    );

-- Eight 16-bit groups as text, '::' expanded.
create or replace macro ip__v6_groups(s) as
    case
        when len(string_split(s, '::')) > 2
            then []::varchar[]
        when contains(s, '::')
            then ip__v6_fill(
                ip__v6_side(split_part(s, '::', 1)),
                ip__v6_side(split_part(s, '::', 2))
            )
        else string_split(s, ':')
    end;

create or replace macro ip__v6_value(g) as
    case
        when len(g) = 8
            and list_bool_and(
                list_transform(
                    g, lambda x: regexp_full_match(x, '[0-9a-f]{1,4}')
                )
            )
            then list_reduce(
                list_transform(g, lambda x: ('0x' || x)::uhugeint),
                lambda acc, x: acc * 65536 + x
            )
    end;

-- Any IPv4/IPv6 text -> 128-bit value (null when malformed).
create or replace macro ip_value(s) as
    case
        when contains(s, ':')
            then ip__v6_value(
                ip__v6_groups(
                    ip__v6_embedded_v4(lower(split_part(trimmed(s), '%', 1)))
                )
            )
        else 281470681743360::uhugeint + ip__v4_int(trimmed(s))
    end;

create or replace macro ip__hex32(v) as
    lpad(lower(hex(v)), 32, '0');

create or replace macro ip_hex(s) as
    ip__hex32(ip_value(s));

-- Prefix length on the 128-bit scale; an IPv4 /n is /(96 + n).
create or replace macro cidr__prefix(c) as
    case
        when not contains(c, '/')
            then 128
        when contains(split_part(c, '/', 1), ':')
            then try_cast(split_part(c, '/', 2) as integer)
        else 96 + try_cast(split_part(c, '/', 2) as integer)
    end;

create or replace macro cidr__host_bits(c) as
    (128 - cidr__prefix(c))::uhugeint;

-- First and last address of 'a.b.c.d/n', 'x:y::/n' or a single address.
create or replace macro cidr_start_hex(c) as
    case
        when cidr__prefix(c) not between 0 and 128 then null
        when cidr__host_bits(c) = 128 then repeat('0', 32)
        else ip__hex32(
            (ip_value(split_part(c, '/', 1)) >> cidr__host_bits(c))
                << cidr__host_bits(c)
        )
    end;

create or replace macro cidr_end_hex(c) as
    case
        when cidr__prefix(c) not between 0 and 128 then null
        when cidr__host_bits(c) = 128 then repeat('f', 32)
        else ip__hex32(
            ((ip_value(split_part(c, '/', 1)) >> cidr__host_bits(c))
                << cidr__host_bits(c))
            + ((1::uhugeint << cidr__host_bits(c)) - 1)
        )
    end;

-- True when the address (as ip_hex) lies in the CIDR range, or equals the
-- address when no prefix is given.
create or replace macro ip_in_cidr(hex_value, c) as
    hex_value between cidr_start_hex(c) and cidr_end_hex(c);
