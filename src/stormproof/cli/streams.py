"""``stormproof streams ...``: create, list, describe, put to and read ordered streams, and
show each mapping's per-shard checkpoint, lag and lease holder."""

from __future__ import annotations

import base64
from typing import Any

import click

from stormproof.app import App
from stormproof.cli.base import emit_json, main, run
from stormproof.cli.output import OneLineGroup, json_option, print_table
from stormproof.storage import stream_ops
from stormproof.streams import iterators as it


@main.group("streams", cls=OneLineGroup)
def streams() -> None:
    """Ordered streams: create, put, read, describe, checkpoints."""


@streams.command("create")
@click.argument("name")
@click.option("--shards", type=int, default=1, show_default=True, help="1-1,024 shards.")
@click.option("--retention", type=float, default=86400, show_default=True, help="Seconds.")
@json_option
@click.pass_context
def create(ctx: click.Context, name: str, shards: int, retention: float, as_json: bool) -> None:
    """Create stream NAME (an existing stream keeps its shards)."""

    async def work(app: App) -> list[Any]:
        return await app.streams.declare(name, shards, retention).create()

    _shards(run(ctx, work, create=True), as_json)


@streams.command("ls")
@json_option
@click.pass_context
def ls(ctx: click.Context, as_json: bool) -> None:
    """List streams."""
    rows = run(ctx, lambda app: app.store.run(stream_ops.list_all))
    if as_json:
        emit_json([{"name": n, "retention": r, "createdAt": c} for n, r, c in rows])
    else:
        print_table(["name", "retention (s)"], [(n, f"{r:g}") for n, r, _ in rows])


@streams.command("describe")
@click.argument("name")
@json_option
@click.pass_context
def describe(ctx: click.Context, name: str, as_json: bool) -> None:
    """Shards of stream NAME with their hash-key ranges, parents and states."""

    async def work(app: App) -> list[Any]:
        return await (await app.streams.load(name)).describe()

    _shards(run(ctx, work), as_json)


@streams.command("reshard")
@click.argument("name")
@click.option("--shards", type=int, required=True, help="The new number of open shards.")
@json_option
@click.pass_context
def reshard(ctx: click.Context, name: str, shards: int, as_json: bool) -> None:
    """Close the open shards of NAME and open SHARDS new ones (children name parents)."""

    async def work(app: App) -> list[Any]:
        return await (await app.streams.load(name)).reshard(shards)

    _shards(run(ctx, work), as_json)


@streams.command("put")
@click.argument("name")
@click.argument("data")
@click.option("--partition-key", "-k", required=True, help="Routes the record to a shard.")
@json_option
@click.pass_context
def put(ctx: click.Context, name: str, data: str, partition_key: str, as_json: bool) -> None:
    """Append DATA (UTF-8 text) to stream NAME; prints the shard and sequence number."""

    async def work(app: App) -> tuple[str, str]:
        return await (await app.streams.load(name)).put_record(data, partition_key)

    shard, seq = run(ctx, work)
    if as_json:
        emit_json({"ShardId": shard, "SequenceNumber": seq})
    else:
        click.echo(f"{shard} {seq}")


@streams.command("read")
@click.argument("name")
@click.argument("shard_id")
@click.option("--after", "after", metavar="SEQ", help="Start after this sequence number.")
@click.option("--at", "at", metavar="SEQ", help="Start at this sequence number.")
@click.option("--latest", is_flag=True, help="Start after the newest record.")
@click.option("--limit", type=int, default=100, show_default=True)
@json_option
@click.pass_context
def read(
    ctx: click.Context,
    name: str,
    shard_id: str,
    after: str | None,
    at: str | None,
    latest: bool,
    limit: int,
    as_json: bool,
) -> None:
    """Read records of SHARD_ID of stream NAME (from the oldest unless told)."""
    start: it.Iterator = it.LATEST if latest else it.TRIM_HORIZON
    if at is not None:
        start = it.AtSequenceNumber(at)
    if after is not None:
        start = it.AfterSequenceNumber(after)

    async def work(app: App) -> Any:
        return await (await app.streams.load(name)).read(shard_id, start, limit)

    got = run(ctx, work)
    rows = [(r.sequence_number, r.partition_key, _text(r.data)) for r in got.records]
    if as_json:
        emit_json([{"SequenceNumber": s, "PartitionKey": k, "Data": d} for s, k, d in rows])
    else:
        print_table(["sequence number", "partition key", "data"], rows)


@streams.command("checkpoints")
@click.argument("name")
@json_option
@click.pass_context
def checkpoints(ctx: click.Context, name: str, as_json: bool) -> None:
    """Per mapping and shard of stream NAME: checkpoint, lag (records), lease holder."""

    async def work(app: App) -> list[tuple[Any, ...]]:
        shards = {s.shard_id: s for s in await (await app.streams.load(name)).describe()}
        out = []
        for mapping, row in await app.store.run(lambda: stream_ops.checkpoints_of_stream(name)):
            last = shards.get(row.shard_id)
            newest = int(last.last_sequence_number or 0) if last else 0
            holder = row.holder if row.lease_until >= row.now else None
            out.append(
                (mapping, row.shard_id, row.seq, newest - (row.seq or 0), holder, row.iterator_age)
            )
        return out

    rows = run(ctx, work)
    cols = ["mapping", "shard", "checkpoint", "lag", "lease holder", "iterator age (s)"]
    if as_json:
        emit_json([dict(zip(cols, r, strict=True)) for r in rows])
    else:
        print_table(cols, rows)


def _shards(shards: list[Any], as_json: bool) -> None:
    if as_json:
        emit_json(
            [
                {
                    "ShardId": s.shard_id,
                    "HashKeyRange": {
                        "StartingHashKey": s.starting_hash_key,
                        "EndingHashKey": s.ending_hash_key,
                    },
                    "ParentShardId": s.parent_shard_id,
                    "State": s.state,
                    "LastSequenceNumber": s.last_sequence_number,
                }
                for s in shards
            ]
        )
    else:
        print_table(
            ["shard", "starting hash key", "ending hash key", "state", "last seq"],
            [
                (
                    s.shard_id,
                    s.starting_hash_key,
                    s.ending_hash_key,
                    s.state,
                    s.last_sequence_number,
                )
                for s in shards
            ],
        )


def _text(data: bytes) -> str:
    try:
        return data.decode()
    except UnicodeDecodeError:
        return "base64:" + base64.b64encode(data).decode()
