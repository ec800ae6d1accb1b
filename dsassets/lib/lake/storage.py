"""Where the lake's files live: a local directory or an S3 (or S3-compatible) bucket prefix.

Both backends speak in paths relative to the lake root (``raw/docusign/audit_events/dt=.../data.parquet``)
so :class:`~dsassets.lib.lake.lake.Lake` never branches on where the data is:

- ``url(rel)``: what DuckDB reads and what metadata shows (an absolute path, or ``s3://bucket/prefix/rel``);
- ``publish(local_file, rel)``: make a finished local file the file ``rel``, atomically, consuming it;
- ``glob(pattern)``, ``exists(rel)``, ``read_bytes(rel)``, ``remove(rel)``;
- ``register(con)``: let a DuckDB connection read those URLs.

Atomicity. Locally, ``os.replace`` on one filesystem (scratch files live under the data directory).
On S3, an object exists only once its upload completes: s3fs sends a file under 100 MB as one PUT
and a larger one as a multipart upload that is completed with every part or aborted on error. A
killed process therefore leaves no object and no truncated one, only (for a large file) an
incomplete multipart upload that readers never see; the bucket rule ``AbortIncompleteMultipartUpload``
removes those.

DuckDB reads S3 through s3fs registered as an fsspec filesystem: DuckDB 2.0's httpfs extension is
not bundled with the wheel, is not on PyPI for 2.0 and cannot be installed offline.
DuckDB gets its own s3fs instance (``ListedInfo``), which answers a file's size and date from
the listing of the query's glob instead of a HEAD per open.

Credentials are never handled here: botocore reads ``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``
(or a profile or instance role) itself, so they cannot reach logs, metadata or exceptions.
"""

from __future__ import annotations

import functools
import os
import re
from pathlib import Path
from typing import Callable, Mapping, Protocol
from urllib.parse import urlsplit

import duckdb

from dsassets.lib.config.settings import DATA_DIR, ConfigError, check_url

DATA_DIR_ENV = DATA_DIR.name
# Botocore's own names: the service-specific endpoint wins over the global one.
ENDPOINT_ENVS = ("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL")
REGION_ENVS = ("AWS_REGION", "AWS_DEFAULT_REGION")

_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")


class StorageError(OSError):
    """Reading or writing the lake failed. Names the file and the setting that points there."""


class Store(Protocol):
    root_url: str
    is_local: bool

    def url(self, rel: str) -> str: ...
    def publish(self, local_file: Path, rel: str) -> None: ...
    def glob(self, pattern: str) -> list[str]: ...
    def stamps(self, prefix: str, skip: Callable[[str], bool]) -> dict[str, str]: ...
    def exists(self, rel: str) -> bool: ...
    def read_bytes(self, rel: str) -> bytes: ...
    def remove(self, rel: str) -> None: ...
    def register(self, con: duckdb.DuckDBPyConnection) -> None: ...


class LocalStore:
    """A directory on this machine."""

    is_local = True

    def __init__(self, root: Path) -> None:
        self.root = root
        self.root_url = str(root)

    def url(self, rel: str) -> str:
        return str(self.root / rel) if rel else self.root_url

    def publish(self, local_file: Path, rel: str) -> None:
        target = self.root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(local_file, target)

    def glob(self, pattern: str) -> list[str]:
        return sorted(p.relative_to(self.root).as_posix() for p in self.root.glob(pattern) if p.is_file())

    def stamps(self, prefix: str, skip: Callable[[str], bool]) -> dict[str, str]:
        """Every file under ``prefix`` (relative paths), with its size and modification time, except
        under the paths ``skip`` accepts (checked on each directory before it is walked, and on each
        file): what a change of any file shows in."""
        found: dict[str, str] = {}
        pending = [prefix.rstrip("/")] if prefix else [""]
        while pending:
            rel_dir = pending.pop()
            try:
                entries = os.scandir(self.root / rel_dir)
            except FileNotFoundError:
                continue
            with entries:
                for entry in entries:
                    rel = f"{rel_dir}/{entry.name}" if rel_dir else entry.name
                    if skip(rel):
                        continue
                    if entry.is_dir(follow_symlinks=False):
                        pending.append(rel)
                    elif entry.is_file():
                        info = entry.stat()
                        found[rel] = f"{info.st_size}:{info.st_mtime_ns}"
        return found

    def exists(self, rel: str) -> bool:
        return (self.root / rel).is_file()

    def read_bytes(self, rel: str) -> bytes:
        return (self.root / rel).read_bytes()

    def remove(self, rel: str) -> None:
        (self.root / rel).unlink(missing_ok=True)

    def register(self, con: duckdb.DuckDBPyConnection) -> None:
        """Local paths need nothing."""


class S3Store:
    """A prefix in an S3 bucket (AWS or any S3-compatible server)."""

    is_local = False

    def __init__(self, bucket: str, prefix: str, fs, reader, setting: str = DATA_DIR_ENV) -> None:
        # ``fs`` answers this class's own calls from S3 every time; ``reader`` is what DuckDB reads through.
        self.bucket, self.prefix, self.fs, self.reader, self.setting = bucket, prefix, fs, reader, setting
        self._base = f"{bucket}/{prefix}" if prefix else bucket
        self.root_url = f"s3://{self._base}"

    def _key(self, rel: str) -> str:
        return f"{self._base}/{rel}" if rel else self._base

    def url(self, rel: str) -> str:
        return f"s3://{self._key(rel)}"

    def _fail(self, doing: str, rel: str, exc: Exception) -> StorageError:
        # The botocore/s3fs message names the operation and S3's error code; never a credential.
        return StorageError(
            f"{doing} {self.url(rel)} failed ({self.setting}={self.root_url}): {type(exc).__name__}: {exc}"
        )

    def publish(self, local_file: Path, rel: str) -> None:
        try:
            self.fs.put_file(str(local_file), self._key(rel))
        except Exception as exc:
            raise self._fail("uploading to", rel, exc) from None
        local_file.unlink()

    def glob(self, pattern: str) -> list[str]:
        try:
            found = self.fs.glob(self._key(pattern))
        except FileNotFoundError:
            return []
        except Exception as exc:
            raise self._fail("listing", pattern, exc) from None
        return sorted(p.removeprefix(self._base + "/") for p in found)

    def stamps(self, prefix: str, skip: Callable[[str], bool]) -> dict[str, str]:
        """:meth:`LocalStore.stamps` from one recursive listing: size and ETag (which a rewrite changes)."""
        try:
            found = self.fs.find(self._key(prefix.rstrip("/")), detail=True)
        except FileNotFoundError:
            return {}
        except Exception as exc:
            raise self._fail("listing", prefix, exc) from None
        stamps = {}
        for key, info in found.items():
            rel = key.removeprefix(self._base + "/")
            parts = rel.split("/")
            if any(skip("/".join(parts[: n + 1])) for n in range(len(parts))):
                continue
            stamps[rel] = f"{info.get('size')}:{info.get('ETag') or info.get('LastModified')}"
        return stamps

    def exists(self, rel: str) -> bool:
        try:
            return self.fs.isfile(self._key(rel))
        except Exception as exc:
            raise self._fail("checking", rel, exc) from None

    def read_bytes(self, rel: str) -> bytes:
        try:
            return self.fs.cat_file(self._key(rel))
        except FileNotFoundError:
            raise FileNotFoundError(f"{self.url(rel)} does not exist") from None
        except Exception as exc:
            raise self._fail("reading", rel, exc) from None

    def remove(self, rel: str) -> None:
        try:
            self.fs.rm_file(self._key(rel))
        except FileNotFoundError:
            pass
        except Exception as exc:
            raise self._fail("deleting", rel, exc) from None

    def register(self, con: duckdb.DuckDBPyConnection) -> None:
        if not con.filesystem_is_registered(self.reader.protocol[0]):
            con.register_filesystem(self.reader)


def redact(url: str) -> str:
    """``url`` fit for an error message: any ``user:password@`` replaced by ``***@``."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return parts._replace(netloc="***@" + parts.netloc.rsplit("@", 1)[1]).geturl()


def parse_s3_url(value: str, setting: str = DATA_DIR_ENV) -> tuple[str, str]:
    """``s3://bucket/some/prefix`` -> ``("bucket", "some/prefix")``; anything else is an error naming ``setting``."""
    parts = urlsplit(value)
    shown = redact(value)
    if parts.scheme != "s3":
        raise ConfigError(f"{setting}={shown!r}: only s3:// URLs or local paths are supported")
    if "@" in parts.netloc:
        raise ConfigError(
            f"{setting}={shown!r}: expected s3://bucket/prefix without credentials; "
            "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or a profile) instead"
        )
    if parts.query or parts.fragment:
        raise ConfigError(f"{setting}={shown!r}: expected s3://bucket/prefix, with no query or fragment")
    bucket = parts.netloc
    if not _BUCKET.fullmatch(bucket) or ".." in bucket:
        raise ConfigError(
            f"{setting}={value!r}: {bucket!r} is not a valid bucket name "
            "(3-63 lowercase letters, digits, dots or hyphens); expected s3://bucket/prefix"
        )
    prefix = parts.path.strip("/")
    if any(seg in ("", ".", "..") for seg in prefix.split("/")) and prefix:
        raise ConfigError(f"{setting}={value!r}: the prefix has an empty, '.' or '..' segment")
    return bucket, prefix


def is_url(value: str) -> bool:
    """A ``scheme://`` value, as opposed to a local path (which may contain a colon)."""
    return re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://", value) is not None


def s3_endpoint(env: Mapping[str, str]) -> tuple[str | None, str | None]:
    """The S3 endpoint URL (checked like every other host: https, or http on loopback) and the region."""
    endpoint = None
    for name in ENDPOINT_ENVS:
        if env.get(name):
            value = env[name]
            if "@" in urlsplit(value).netloc:
                raise ConfigError(f"{name}={redact(value)!r}: the endpoint URL must not carry credentials")
            endpoint = check_url(name, value)
            break
    region = next((env[n] for n in REGION_ENVS if env.get(n)), None)
    return endpoint, region


def glob_regex(pattern: str) -> re.Pattern[str]:
    """``*`` and ``?`` within one path segment, ``**`` across segments (``a/**/*`` matches ``a/x/y``)."""
    out, i = [], 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("".join(out))


@functools.lru_cache(maxsize=16)
def _s3_filesystem(endpoint: str | None, region: str | None, pid: int, for_duckdb: bool = False):
    """One s3fs filesystem per endpoint and region in a process (it holds the connection pool), and
    one more that DuckDB reads through (``for_duckdb``: see ``ListedInfo``).

    Keyed by ``pid`` too: s3fs's event loop does not survive a fork, and a forked executor
    process must build its own.
    """
    import s3fs

    class OneListingGlob(s3fs.S3FileSystem):
        """s3fs whose glob is one recursive listing under the fixed prefix, filtered here.

        s3fs walks ``dt=*/*.parquet`` level by level (a LIST per partition directory plus HEADs:
        about 20 requests per dataset, and DuckDB globs every view it binds). This is one LIST
        (paginated by 1000 objects) whatever the number of partitions.
        """

        async def _glob(self, path, maxdepth=None, **kwargs):
            path = self._strip_protocol(path)
            magic = re.search(r"[*?]", path)
            if magic is None:
                return await self._named(path)
            base = path[: magic.start()].rsplit("/", 1)[0]
            matches = glob_regex(path).fullmatch
            return sorted(p for p in await self._listing(base) if matches(p))

        async def _named(self, path: str) -> list[str]:
            """A glob without a wildcard: the path, if it is a file."""
            return [path] if await self._isfile(path) else []

        async def _listing(self, base: str) -> dict[str, dict]:
            try:
                return await self._find(base, detail=True)
            except FileNotFoundError:
                return {}

    class ListedInfo(OneListingGlob):
        """What DuckDB reads through: a file's details come from the listing DuckDB's own glob made.

        DuckDB asks for a file's details three times each time it opens it (open, size, modified),
        and it opens a file again for each query and scanning thread: s3fs sends a HEAD each time,
        1,191 of the 1,291 requests of one day's det_suspicious_ip on a nine-day lake. Every query
        first binds its files with a glob, which is one LIST here, and a LIST returns the size,
        ETag and LastModified a HEAD would. So the opens that follow are answered from it.

        As fresh as the query's own glob: each glob replaces everything remembered under its base
        (a file gone since is forgotten, a rewritten one gets its new size); a path without a
        wildcard gets a HEAD on each glob; a file written or deleted through this filesystem is
        forgotten; a path no glob listed gets a HEAD, as in s3fs.
        """

        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self._listed: dict[str, dict] = {}

        async def _named(self, path: str) -> list[str]:
            self._forget(path)
            try:
                info = await self._info(path)
            except FileNotFoundError:
                return []
            if info["type"] != "file":
                return []
            self._listed[path] = info
            return [path]

        async def _listing(self, base: str) -> dict[str, dict]:
            found = await super()._listing(base)
            self._forget(base)
            self._listed.update((key, info) for key, info in found.items() if info.get("type") == "file")
            return found

        async def _info(self, path, bucket=None, key=None, refresh=False, version_id=None):
            if not refresh and version_id is None:
                known = self._listed.get(self._strip_protocol(path))
                if known is not None:
                    return dict(known)
            return await super()._info(path, bucket=bucket, key=key, refresh=refresh, version_id=version_id)

        def invalidate_cache(self, path=None):
            super().invalidate_cache(path)
            if path is None:
                self._listed.clear()
            else:
                self._forget(self._strip_protocol(path))

        def _forget(self, path: str) -> None:
            """Drop ``path`` and everything under it. ``invalidate_cache`` can run in a caller's
            thread while a glob runs on s3fs's loop: scan a copy of the keys (``list`` copies a dict
            in one step under the GIL) and pop, so neither side iterates a dict the other changes."""
            path = path.rstrip("/")
            self._listed.pop(path, None)
            under = path + "/"
            for key in list(self._listed):
                if key.startswith(under):
                    self._listed.pop(key, None)

    client_kwargs = {"region_name": region} if region else {}
    return (ListedInfo if for_duckdb else OneListingGlob)(
        endpoint_url=endpoint,
        client_kwargs=client_kwargs,
        # Other processes write the lake too: s3fs's listing cache would hide their partitions.
        use_listings_cache=False,
        skip_instance_cache=True,
    )


def open_store(data_dir: str, env: Mapping[str, str] | None = None, setting: str = DATA_DIR_ENV) -> Store:
    """The store for ``data_dir``: a local path, or an ``s3://bucket/prefix`` URL."""
    env = os.environ if env is None else env
    if not data_dir or not data_dir.strip():
        raise ConfigError(f"{setting} is empty: set a directory or an s3://bucket/prefix URL")
    if not is_url(data_dir):
        return LocalStore(Path(data_dir).expanduser().resolve())
    bucket, prefix = parse_s3_url(data_dir, setting)
    endpoint, region = s3_endpoint(env)
    pid = os.getpid()
    return S3Store(bucket, prefix, _s3_filesystem(endpoint, region, pid),
                   _s3_filesystem(endpoint, region, pid, for_duckdb=True), setting)
