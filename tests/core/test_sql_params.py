"""Named parameters in one style (``:name``) for both stores."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from stormproof.core.sql_params import controls_transaction, names, pyformat


def test_names_become_pyformat_and_percent_is_doubled() -> None:
    sql = "UPDATE t SET n = n - :dec WHERE id = :id AND name LIKE 'a%' AND x % 2 = 0"
    assert pyformat(sql) == (
        "UPDATE t SET n = n - %(dec)s WHERE id = %(id)s AND name LIKE 'a%%' AND x %% 2 = 0"
    )
    assert names(sql) == ["dec", "id"]


def test_literals_casts_and_comments_stay_as_written() -> None:
    sql = "SELECT 'a:b', \"c:d\", v::text -- :not\n /* :no */ FROM t WHERE k = :k"
    assert pyformat(sql) == sql.replace(":k", "%(k)s")
    assert names(sql) == ["k"]


@given(st.from_regex(r"[a-z_][a-z0-9_]{0,10}", fullmatch=True))
def test_any_name_round_trips(name: str) -> None:
    assert pyformat(f"SELECT :{name}") == f"SELECT %({name})s"
    assert names(f"SELECT :{name}, :{name}") == [name]


def test_transaction_control_is_recognised() -> None:
    assert controls_transaction("  commit")
    assert controls_transaction("SAVEPOINT x")
    assert not controls_transaction("SELECT 'BEGIN'")
