"""Login throttling: a growing delay after repeated failures, per account and per client address.

The failures live in a Litestar `Store` (a file store under the data dir, or Redis), so several
app processes share them. A key's failures are forgotten an hour after they happen: the real
owner of an account is slowed down while someone guesses, never locked out for good.

The read-modify-write of a key is not atomic across processes; under a concurrent burst a few
failures may be lost. The delay still grows with every failure that lands, and the hourly
ceiling backs it up.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from litestar.stores.base import Store

Clock = Callable[[], float]


@dataclass(frozen=True)
class Policy:
    """How many failures are free, how the delay grows after them, and the hourly ceiling."""

    free_failures: int
    ceiling: int  # at most this many failures per window
    first_delay_s: float = 1.0  # doubles with every failure after the free ones…
    max_delay_s: float = 300.0  # …up to this
    window_s: int = 3600

    def delay_after(self, failures: int) -> float:
        if failures < self.free_failures:
            return 0.0
        return min(self.first_delay_s * 2 ** (failures - self.free_failures), self.max_delay_s)


# An account: a handful of typos are free; then 1 s, 2 s, 4 s… up to 5 minutes; 100 an hour at most.
ACCOUNT = Policy(free_failures=5, ceiling=100)
# An address may be a whole surf school behind one router: more free failures, a higher ceiling.
ADDRESS = Policy(free_failures=20, ceiling=300)


@dataclass(frozen=True)
class Key:
    name: str  # the store key: a hash, never an email in clear
    policy: Policy


def account_key(email: str) -> Key:
    digest = hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]
    return Key(f"account-{digest}", ACCOUNT)


def address_key(address: str) -> Key:
    digest = hashlib.sha256(address.encode()).hexdigest()[:32]
    return Key(f"address-{digest}", ADDRESS)


class LoginThrottle:
    """Counts failures per key and says how long to wait before the next attempt is heard."""

    def __init__(self, store: Store, clock: Clock = time.time):
        self.store = store
        self.clock = clock

    async def _failures(self, key: Key, now: float) -> list[float]:
        raw = await self.store.get(key.name)
        if not raw:
            return []
        try:
            stamps = [float(t) for t in json.loads(raw)]
        except (ValueError, TypeError):
            return []
        return sorted(t for t in stamps if now - key.policy.window_s < t <= now)

    async def wait_s(self, keys: Iterable[Key]) -> int:
        """Seconds before another attempt is allowed for all of `keys` (0: go ahead)."""
        now = self.clock()
        wait = 0.0
        for key in keys:
            stamps = await self._failures(key, now)
            if not stamps:
                continue
            policy = key.policy
            wait = max(wait, stamps[-1] + policy.delay_after(len(stamps)) - now)
            if len(stamps) >= policy.ceiling:
                # Wait until enough of this hour's failures have aged out to fall under the ceiling.
                wait = max(wait, stamps[len(stamps) - policy.ceiling] + policy.window_s - now)
        return math.ceil(wait) if wait > 0 else 0

    async def failed(self, keys: Iterable[Key]) -> None:
        now = self.clock()
        for key in keys:
            stamps = (await self._failures(key, now))[-(key.policy.ceiling - 1):] + [now]
            await self.store.set(key.name, json.dumps(stamps), expires_in=key.policy.window_s)

    async def succeeded(self, key: Key) -> None:
        """A right password clears its account's failures (not the address's: one known account must not
        reset the counter of an address that guesses at others)."""
        await self.store.delete(key.name)
