"""``stormproof streams create|ls|describe|put|read|checkpoints`` on both stores."""

from __future__ import annotations

from tests.acceptance.test_cli_queues import cli, ok, ok_json, one_line_error


def test_streams_commands(store_url: str) -> None:
    shards = ok_json(store_url, "streams", "create", "clicks", "--shards", "2")
    assert [s["ShardId"] for s in shards] == ["shardId-000000000000", "shardId-000000000001"]
    assert [s["name"] for s in ok_json(store_url, "streams", "ls")] == ["clicks"]
    put = ok_json(store_url, "streams", "put", "clicks", "hello", "-k", "user-1")
    again = ok_json(store_url, "streams", "put", "clicks", "world", "-k", "user-1")
    assert put["ShardId"] == again["ShardId"] and again["SequenceNumber"] > put["SequenceNumber"]
    got = ok_json(store_url, "streams", "read", "clicks", put["ShardId"])
    assert [r["Data"] for r in got] == ["hello", "world"]
    after = ok_json(
        store_url, "streams", "read", "clicks", put["ShardId"], "--after", put["SequenceNumber"]
    )
    assert [r["Data"] for r in after] == ["world"]
    described = ok_json(store_url, "streams", "describe", "clicks")
    assert any(s["LastSequenceNumber"] == again["SequenceNumber"] for s in described)
    assert ok_json(store_url, "streams", "checkpoints", "clicks") == []
    assert "shardId-000000000000" in ok(store_url, "streams", "describe", "clicks")
    resharded = ok_json(store_url, "streams", "reshard", "clicks", "--shards", "3")
    assert [s["State"] for s in resharded] == ["CLOSED", "CLOSED", "OPEN", "OPEN", "OPEN"]
    error = one_line_error(cli(store_url, "streams", "create", "bad", "--shards", "0"))
    assert "shards" in error
