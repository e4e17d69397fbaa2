"""Properties of the stream batch plan: bisection isolates a poison record within AWS's
bound, retries and age give up, partial responses split, the checkpoint only moves on."""

from __future__ import annotations

import itertools

from hypothesis import given
from hypothesis import strategies as st

from stormproof.core import stream_batch as sb
from stormproof.core import stream_rules as rules


def _run(
    size: int, poison: set[int], bisect: bool, retries: int
) -> tuple[set[int], list[sb.GiveUp], int]:
    plan, ok, dropped, calls, done = sb.start(size), set(), [], 0, 0
    while (h := sb.head(plan)) is not None:
        calls += 1
        lo, hi = h
        if poison & set(range(lo, hi)):
            plan, give = sb.failed(
                plan, bisect=bisect, max_retry_attempts=retries, age_exceeded=False
            )
            if give:
                dropped.append(give)
        else:
            ok |= set(range(lo, hi))
            plan = sb.succeeded(plan)
        assert plan.done >= done
        done = plan.done
    assert done == size
    return ok, dropped, calls


@given(st.integers(1, 2000), st.data(), st.integers(0, 5))
def test_bisect_isolates_one_poison_record_within_bound(
    size: int, data: st.DataObject, retries: int
) -> None:
    p = data.draw(st.integers(0, size - 1))
    ok, dropped, calls = _run(size, {p}, True, retries)
    assert ok == set(range(size)) - {p}
    assert [(g.start, g.end, g.condition) for g in dropped] == [(p, p + 1, sb.RETRIES_EXHAUSTED)]
    assert dropped[0].invocations == retries + 1
    assert calls <= 1 + sb.bisection_bound(size) + retries


@given(st.integers(1, 500), st.integers(0, 5))
def test_without_bisect_the_whole_batch_is_retried_then_dropped(size: int, retries: int) -> None:
    ok, dropped, calls = _run(size, {size - 1}, False, retries)
    assert ok == set() and calls == retries + 1
    assert [(g.start, g.end) for g in dropped] == [(0, size)]


@given(st.integers(2, 100), st.data())
def test_partial_response_splits_at_lowest_failure(size: int, data: st.DataObject) -> None:
    seqs = [rules.format_seq(i + 10) for i in range(size)]
    picks = data.draw(st.sets(st.integers(1, size - 1), min_size=1))
    response = {"batchItemFailures": [{"itemIdentifier": seqs[i]} for i in picks]}
    low = sb.lowest_failure(seqs, response)
    assert low == min(picks)
    plan, give = sb.failed(
        sb.start(size), bisect=False, max_retry_attempts=0, age_exceeded=False, failed_at=low
    )
    assert give is None and plan.done == low and plan.attempts == 0
    assert sb.head(plan) == (low, size)


def test_partial_response_edge_cases() -> None:
    seqs = ["1", "2"]
    assert sb.lowest_failure(seqs, None) is None
    assert sb.lowest_failure(seqs, {"batchItemFailures": []}) is None
    assert sb.lowest_failure(seqs, {"batchItemFailures": [{"itemIdentifier": "9"}]}) == 0
    assert sb.lowest_failure(seqs, "junk") == 0


def test_age_gives_up_without_retry() -> None:
    plan, give = sb.failed(sb.start(5), bisect=True, max_retry_attempts=-1, age_exceeded=True)
    assert give == sb.GiveUp(0, 5, sb.AGE_EXCEEDED, 1) and sb.head(plan) is None


@given(st.integers(1, 64), st.binary(max_size=40))
def test_routing_covers_the_hash_space(count: int, key: bytes) -> None:
    ranges = rules.even_ranges(count)
    assert ranges[0].start == 0 and ranges[-1].end == rules.HASH_MAX
    assert all(a.end + 1 == b.start for a, b in itertools.pairwise(ranges))
    k = rules.hash_key(key.hex() or "k")
    assert ranges[rules.route(k, ranges)].holds(k)


@given(st.lists(st.floats(0, 1000), max_size=50), st.floats(0, 2000), st.floats(60, 600))
def test_expiry_gives_up_only_the_old_prefix(arrivals: list[float], now: float, age: float) -> None:
    arrivals = sorted(arrivals)
    count = sb.expired_count(arrivals, now, age)
    assert all(now - a > age for a in arrivals[:count])
    assert count == len(arrivals) or now - arrivals[count] <= age
    assert sb.expired_count(arrivals, now, -1) == 0
    if arrivals and count:
        plan, give = sb.expire(sb.start(len(arrivals)), count)
        assert give is not None and (give.start, give.end) == (0, count)
        assert give.condition == sb.AGE_EXCEEDED and plan.done == count


@given(st.integers(0, 100))
def test_retry_delay_doubles_to_a_cap(attempts: int) -> None:
    delay = sb.retry_delay(attempts)
    if attempts == 0:
        assert delay == 0
    else:
        assert delay == min(60.0, 2.0 ** (attempts - 1))
        assert sb.retry_delay(attempts + 1) >= delay


@given(st.integers(1, 200), st.integers(1, 200), st.floats(0, 600), st.floats(0, 300))
def test_batch_is_ready_when_full_or_window_elapsed(
    count: int, size: int, waited: float, window: float
) -> None:
    assert sb.ready(count, size, 0.0, waited, window) == (count >= size or waited >= window)
