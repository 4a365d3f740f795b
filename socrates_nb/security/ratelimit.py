"""Rate limits whose state lives in the database, so every process sharing it counts together.

A *bucket* names what is limited, e.g. ``login:account:bob`` or ``login:client:203.0.113.7``.
Each counted attempt is one row of ``rate_limit_hits``: the bucket (stored as its SHA-256, so
the table holds no usernames or addresses and any name fits) and the moment the hit leaves
its window. That is a sliding window: a bucket is over its limit while it holds ``limit``
unexpired hits. Counting inserts a row, so concurrent hits from any number of processes are
never lost, on SQLite and PostgreSQL alike; every ``hit`` also deletes expired rows, so the
table only holds the hits of the current windows.
"""

from __future__ import annotations

import hashlib
import ipaddress
import math
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session as OrmSession

from socrates_nb.errors import RateLimitedError
from socrates_nb.security import audit
from socrates_nb.storage.db import Database
from socrates_nb.storage.models import RateLimitHit, utcnow

PURGE_BATCH = 1000
"""The most expired rows one ``hit`` deletes (each hit adds at most a few, so the table stays bounded)."""


def bucket_key(bucket: str) -> str:
    """The stored form of a bucket name: its SHA-256 in hex."""
    return hashlib.sha256(bucket.encode("utf-8")).hexdigest()


def client_address(address: str) -> str:
    """What a client address is limited by: an IPv4 address, or the /64 network of an IPv6 one.

    One subscriber usually holds a whole IPv6 /64, so limiting single IPv6 addresses would
    limit nothing. An IPv4-mapped IPv6 address counts as its IPv4 address; text that is
    not an IP address is used as given.
    """
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def proxy_network(text: str) -> Network:
    """A trusted proxy's address or network (``10.0.0.5``, ``10.0.0.0/8``, ``fd00::/8``); ValueError otherwise."""
    return ipaddress.ip_network(text.strip(), strict=False)


def forwarded_client(peer: str, forwarded_for: Sequence[str], proxies: Sequence[Network]) -> str:
    """The client's address when ``peer`` may be a proxy in front of us.

    ``forwarded_for`` are the ``X-Forwarded-For`` header values (each a comma-separated
    list, oldest hop first, every proxy appending the address it received from). Walking
    from the peer back toward the client, each address that is one of ``proxies`` is
    skipped; the first one that is not is the client. A peer that is not a trusted proxy
    is the client whatever the header says, so a client cannot name another address;
    a malformed entry ends the walk at the proxy that wrote it.
    """
    if not proxies:
        return peer
    chain = [hop.strip() for value in forwarded_for for hop in value.split(",") if hop.strip()]
    current = peer
    for hop in [peer, *reversed(chain)]:
        try:
            address = ipaddress.ip_address(hop)
        except ValueError:
            return current
        current = hop
        if not any(address in network for network in proxies):
            return hop
    return current


def login_buckets(username: str, client: str | None) -> list[str]:
    """The buckets a password check counts in: the account (its name folded) and, if known, the client address."""
    account = [f"login:account:{username.strip().casefold()}"]
    return account if client is None else [*account, f"login:client:{client_address(client)}"]


class RateLimiter:
    """Counts attempts per bucket in the database; ``clock`` gives the current UTC time."""

    def __init__(self, db: Database, clock: Callable[[], datetime] = utcnow) -> None:
        self.db = db
        self.clock = clock

    def check(self, buckets: Sequence[str], limit: int, message: str, refused: audit.Event) -> None:
        """Raise ``RateLimitedError(message, retry_after)`` if any bucket holds ``limit`` unexpired hits.

        A refusal is recorded as the audit event ``refused`` (an ``auth.rate_limited`` one).

        ``retry_after`` is the number of whole seconds until every bucket is under its limit
        again: until the hit that makes a bucket reach the limit, its ``limit``-th newest,
        expires. One query, an index range scan per bucket.
        """
        now = self.clock()
        nth_newest = [
            select(RateLimitHit.expires_at)
            .where(RateLimitHit.bucket == bucket_key(bucket), RateLimitHit.expires_at > now)
            .order_by(RateLimitHit.expires_at.desc())
            .offset(limit - 1)
            .limit(1)
            .scalar_subquery()
            for bucket in buckets
        ]
        with self.db.read() as orm:
            found = [at for at in orm.execute(select(*nth_newest)).one() if at is not None]
        if found:
            audit.write(self.db, refused)
            raise RateLimitedError(message, retry_after=math.ceil((max(found) - now).total_seconds()))

    def hit(self, buckets: Sequence[str], window_s: int, event: audit.Event | None) -> None:
        """Count one attempt in each bucket for the next ``window_s`` seconds; delete expired hits.

        ``event`` (a failure's audit record) is written in the same transaction; None when the
        caller records the attempt itself or it is no failure (a registration).

        The expired rows are taken with ``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so
        concurrent hits never wait for each other's clean-up.
        """
        now = self.clock()
        rows = [{"bucket": bucket_key(b), "expires_at": now + timedelta(seconds=window_s)} for b in buckets]
        expired = (
            select(RateLimitHit.id)
            .where(RateLimitHit.expires_at <= now)
            .limit(PURGE_BATCH)
            .with_for_update(skip_locked=True)
        )

        def work(orm: OrmSession) -> None:
            orm.execute(
                delete(RateLimitHit).where(RateLimitHit.id.in_(expired)).execution_options(synchronize_session=False)
            )
            orm.execute(insert(RateLimitHit), rows)
            if event is not None:
                audit.add(orm, event)

        self.db.run_write(work)

    def clear(self, bucket: str) -> None:
        """Forget every hit of a bucket (a successful login clears its account's failures)."""
        key = bucket_key(bucket)
        self.db.run_write(
            lambda orm: orm.execute(
                delete(RateLimitHit).where(RateLimitHit.bucket == key).execution_options(synchronize_session=False)
            )
        )
