"""A pickle of the compiled topic pack in the state directory, so that a poll task does not parse and compile the YAML again."""

from __future__ import annotations

import hashlib
import logging
import os
import pickle
import sys
import sysconfig
import tempfile
import threading
from pathlib import Path

import newsmon
from newsmon.enrich.topic import TopicPack, load_topic_pack

log = logging.getLogger("newsmon.store.pack_cache")

# Bumped when the cache file's layout changes.
CACHE_FORMAT = b"newsmon-topic-pack-cache/1"
KEY_BYTES = 64  # a hex SHA-256 heads the file, before the pickle
# The code that turns a pack file into a TopicPack (the tagger's compilation, stemming and folding), whose
# every edit must rebuild the cache even when newsmon's version stays the same (a development checkout).
_PACKAGE_DIR = Path(newsmon.__file__).resolve().parent
_COMPILING_SOURCES = ("enrich", "core")

_memo_lock = threading.Lock()
# key → pack: repeated loads in one process return the same object (workers of `newsmon run` are shared
# between batches only while the pack is the same object).
_memo: dict[str, TopicPack] = {}


def cached_topic_pack(path: Path, cache_dir: Path) -> TopicPack:
    """The pack at `path`, from its cache file in `cache_dir` when that was made from the same pack file by the
    same code; otherwise parsed (errors as `load_topic_pack`) and cached. A cache that is stale, unreadable or
    not a pack is rebuilt, never used; one that cannot be written costs only the time of parsing."""
    path = Path(path)
    key = cache_key(path)
    with _memo_lock:
        known = _memo.get(key)
    if known is not None:
        return known
    cache_file = Path(cache_dir) / f"topic-pack-{path.stem}.pickle"
    pack = _read(cache_file, key)
    if pack is None:
        pack = load_topic_pack(path)
        _write(cache_file, key, pack)
    with _memo_lock:
        return _memo.setdefault(key, pack)


def cache_key(path: Path) -> str:
    """What the compiled pack depends on: the pack file's bytes and place, newsmon's compiling code and version,
    Python, and the installed libraries (an install or upgrade changes the site-packages directory)."""
    digest = hashlib.sha256(CACHE_FORMAT)
    try:
        digest.update(path.read_bytes())
        place = str(path.resolve())
    except OSError:
        return ""  # load_topic_pack says what is wrong with the path
    for part in (place, newsmon.__version__, sys.version, *_library_stamps()):
        digest.update(b"\0" + part.encode("utf-8", "surrogateescape"))
    for source in _compiling_sources():
        digest.update(b"\0" + str(source.relative_to(_PACKAGE_DIR)).encode() + b"\0" + source.read_bytes())
    return digest.hexdigest()


def _compiling_sources() -> list[Path]:
    return sorted(p for name in _COMPILING_SOURCES for p in (_PACKAGE_DIR / name).rglob("*.py"))


def _library_stamps() -> list[str]:
    stamps = []
    for name in ("purelib", "platlib"):
        where = sysconfig.get_paths().get(name)
        try:
            stamps.append(f"{where}:{os.stat(where).st_mtime_ns}" if where else "")
        except OSError:
            stamps.append(f"{where}:missing")
    return stamps


def _read(cache_file: Path, key: str) -> TopicPack | None:
    if not key:
        return None
    try:
        with cache_file.open("rb") as handle:
            if handle.read(KEY_BYTES) != key.encode("ascii"):
                return None  # made from another pack file or by other code: stale
            pack = pickle.load(handle)  # noqa: S301 - written by newsmon into its own state directory
    except FileNotFoundError:
        return None
    except Exception as exc:  # a truncated or garbled file, an unreadable one: parse the pack instead
        log.warning("topic pack cache %s is unreadable (%s: %s); rebuilding it", cache_file, type(exc).__name__, exc)
        return None
    if not isinstance(pack, TopicPack):
        log.warning("topic pack cache %s holds no topic pack; rebuilding it", cache_file)
        return None
    return pack


def _write(cache_file: Path, key: str, pack: TopicPack) -> None:
    if not key:
        return
    try:
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        # Written beside it and renamed over it: a reader never sees half a file, and parallel poll tasks
        # writing the same cache each replace it whole.
        fd, tmp = tempfile.mkstemp(prefix=cache_file.name + ".", suffix=".tmp", dir=cache_file.parent)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(key.encode("ascii"))
                pickle.dump(pack, handle, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, cache_file)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as exc:  # a read-only state directory only costs the parsing time
        log.warning("cannot write the topic pack cache %s (%s); the pack is parsed on every poll", cache_file, exc)
