"""Reading and writing rosbag2 files (sqlite3 or mcap) with ``rosbags``: no rosbag2 needed.

Messages are rosbags dataclasses with the same field names as rclpy's, so
``cvseq_localizer.ros.conversions`` converts them; ``rosbags_types()`` gives the classes.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rosbags.rosbag2 import Reader, ReaderError, StoragePlugin, Writer
from rosbags.typesys import Stores, get_typestore

from cvseq_localizer.ros.msgtypes import MessageTypes, rosbags_types

STORAGES = {'mcap': StoragePlugin.MCAP, 'sqlite3': StoragePlugin.SQLITE3}


class BagError(RuntimeError):
    """A bag cannot be read as asked (missing file or topic, truncated or corrupt data)."""


def typestore():
    """The ROS 2 Jazzy type store used for every bag we read or write."""
    return get_typestore(Stores.ROS2_JAZZY)


class BagWriter:
    """Write messages to a new rosbag2 directory.

    Example::

        with BagWriter(path, storage='mcap') as bag:
            bag.write('/gnss/fix', stamp_ns, msg)   # topic registered on first use
    """

    def __init__(self, path: str | Path, storage: str = 'mcap') -> None:
        if storage not in STORAGES:
            raise ValueError(f'bag storage {storage!r} is not one of {sorted(STORAGES)}')
        self.path = Path(path)
        if self.path.exists():
            raise FileExistsError(f'bag {self.path} exists already')
        self._store = typestore()
        self.types: MessageTypes = rosbags_types(self._store)
        self._writer = Writer(self.path, version=9, storage_plugin=STORAGES[storage])
        self._connections: dict[str, Any] = {}

    def __enter__(self) -> BagWriter:
        self._writer.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self._writer.close()

    def write(self, topic: str, stamp_ns: int, msg: Any) -> None:
        msgtype = msg.__msgtype__
        conn = self._connections.get(topic)
        if conn is None:
            conn = self._writer.add_connection(topic, msgtype, typestore=self._store)
            self._connections[topic] = conn
        self._writer.write(conn, int(stamp_ns), self._store.serialize_cdr(msg, msgtype))


@dataclass(frozen=True)
class BagMessage:
    topic: str
    stamp_ns: int
    msg: Any
    msgtype: str


@contextmanager
def open_bag(path: str | Path) -> Iterator[Reader]:
    """An open rosbags ``Reader``; a missing or unreadable bag becomes :class:`BagError`."""
    path = Path(path)
    if not path.exists():
        raise BagError(f'bag {path} does not exist')
    try:
        reader = Reader(path)
        reader.open()
    except (ReaderError, OSError, ValueError, KeyError) as exc:
        raise BagError(f'bag {path} cannot be opened: {exc}') from exc
    try:
        yield reader
    finally:
        reader.close()


def bag_topics(path: str | Path) -> dict[str, str]:
    """``{topic: msgtype}`` of a bag."""
    with open_bag(path) as reader:
        return {c.topic: c.msgtype for c in reader.connections}


def check_topics(path: str | Path, topics: Iterable[str]) -> dict[str, str]:
    """``{topic: msgtype}`` of ``topics``; :class:`BagError` naming any the bag lacks."""
    available = bag_topics(path)
    missing = [t for t in topics if t not in available]
    if missing:
        raise BagError(
            f'bag {path} has no topic {", ".join(missing)} (it has: '
            f'{", ".join(sorted(available)) or "nothing"})'
        )
    return {t: available[t] for t in topics}


def raw_messages(path: str | Path, topics: Iterable[str]) -> Iterator[tuple[Any, int, bytes]]:
    """``(connection, log_time_ns, cdr_bytes)`` on ``topics`` in log-time order.

    Raises:
        BagError: missing bag or topic, corrupt or truncated data.
    """
    topics = list(topics)
    check_topics(path, topics)
    with open_bag(path) as reader:
        conns = [c for c in reader.connections if c.topic in topics]
        try:
            for conn, stamp_ns, raw in reader.messages(connections=conns):
                yield conn, int(stamp_ns), bytes(raw)
        except Exception as exc:  # rosbags raises various errors on truncated storage
            raise BagError(f'bag {path} is corrupt or truncated: {exc}') from exc


def read_messages(path: str | Path, topics: Iterable[str]) -> Iterator[BagMessage]:
    """Messages on ``topics`` in log-time order, deserialised (see :func:`raw_messages`)."""
    store = typestore()
    for conn, stamp_ns, raw in raw_messages(path, topics):
        try:
            msg = store.deserialize_cdr(raw, conn.msgtype)
        except Exception as exc:  # a truncated record deserialises into garbage or fails
            raise BagError(f'bag {path} is corrupt or truncated: {exc}') from exc
        yield BagMessage(conn.topic, stamp_ns, msg, conn.msgtype)
