"""``IdPool``: ids drawn many at a time, each handed out once, never shared with a fork."""

from __future__ import annotations

import itertools
import os

from stormproof.storage.message_ids import MESSAGE_IDS, IdPool
from stormproof.storage.request_ops import is_request_id, new_request_id


def _counting() -> tuple[IdPool, list[int]]:
    draws: list[int] = []
    counter = itertools.count()

    def draw(n: int) -> list[str]:
        draws.append(n)
        return [f"id-{next(counter)}" for _ in range(n)]

    return IdPool(draw, size=4), draws


def test_ids_are_drawn_in_fills_and_handed_out_once() -> None:
    pool, draws = _counting()
    taken = [pool.take() for _ in range(10)]
    assert len(set(taken)) == 10 and draws == [4, 4, 4]


def test_a_forked_child_draws_its_own_ids() -> None:
    pool, draws = _counting()
    pool.take()  # three left in the parent's pool
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: its pool starts empty, so this take draws afresh
        pool.take()
        os.write(write, str(len(draws)).encode())
        os._exit(0)
    os.close(write)
    assert os.read(read, 16) == b"2"
    os.waitpid(pid, 0)
    os.close(read)
    assert len(draws) == 1


def test_the_shipped_pools_make_well_formed_distinct_ids() -> None:
    requests = {new_request_id() for _ in range(600)}
    messages = {MESSAGE_IDS.take() for _ in range(600)}
    assert len(requests) == 600 and all(is_request_id(r) for r in requests)
    assert len(messages) == 600 and all(len(m) == 36 and m[14] == "4" for m in messages)
