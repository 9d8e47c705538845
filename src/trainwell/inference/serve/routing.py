"""A/B assignment: weighted arms, sticky by a key's hash, or a seeded random split.

With a sticky key the arm is a pure function of the key (blake2b of it, as a number in [0, 1),
against the cumulative weights), so a user keeps their arm across requests, restarts and replicas
— and changing the weights moves as few users as possible. Without a key, each request draws from
a ``random.Random(seed)``: reproducible for a given request order.
"""

from __future__ import annotations

import bisect
import hashlib
import random
import threading
from collections.abc import Sequence

HASH_BYTES = 8
HASH_SPACE = float(2 ** (8 * HASH_BYTES))


class Router:
    """Chooses an arm per request.

    Args:
        arms: (name, weight) in order; weights are relative (they need not sum to 100).
        seed: the random split's seed (requests without a sticky key).
    """

    def __init__(self, arms: Sequence[tuple[str, float]], seed: int = 0) -> None:
        if not arms:
            raise ValueError("a router needs at least one arm")
        total = sum(weight for _, weight in arms)
        self.names = [name for name, _ in arms]
        self.shares = {name: weight / total for name, weight in arms}
        self._cumulative: list[float] = []
        running = 0.0
        for _, weight in arms:
            running += weight / total
            self._cumulative.append(running)
        self._cumulative[-1] = 1.0
        self._random = random.Random(seed)
        self._lock = threading.Lock()

    def _arm_at(self, point: float) -> str:
        return self.names[min(bisect.bisect_right(self._cumulative, point), len(self.names) - 1)]

    def choose(self, key: str | None) -> str:
        """The arm for a request: by the key's hash when there is one, else at random."""
        if len(self.names) == 1:
            return self.names[0]
        if key is not None:
            return self._arm_at(sticky_point(key))
        with self._lock:
            point = self._random.random()
        return self._arm_at(point)


def sticky_point(key: str) -> float:
    """A key's place in [0, 1): the same for the same key, on every machine."""
    digest = hashlib.blake2b(key.encode("utf-8"), digest_size=HASH_BYTES).digest()
    return int.from_bytes(digest, "big") / HASH_SPACE
