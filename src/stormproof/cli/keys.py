"""``stormproof keys create|ls|revoke`` and ``stormproof plans create|ls|attach``.

API keys and usage plans of the front door (docs/frontdoor.md). A key's secret is printed
once, by ``keys create``; the store keeps only its hash.
"""

from __future__ import annotations

import click

from stormproof.app import App
from stormproof.cli.base import emit_json, main, run
from stormproof.cli.output import OneLineGroup, json_option, print_fields, print_table
from stormproof.core.quota import PERIODS
from stormproof.gateway import keys as api_keys
from stormproof.gateway import plans as usage_plans


@main.group("keys", cls=OneLineGroup)
def keys() -> None:
    """API keys of the front door (x-api-key)."""


@keys.command("create")
@click.argument("name")
@click.option("--plan", default=None, help="Usage plan the key belongs to.")
@click.option(
    "--route",
    "routes",
    multiple=True,
    help="A route the key may call (repeat); default: every route.",
)
@json_option
@click.pass_context
def keys_create(
    ctx: click.Context, name: str, plan: str | None, routes: tuple[str, ...], as_json: bool
) -> None:
    """Create a key; its secret is shown this once."""

    async def work(app: App) -> tuple[api_keys.ApiKey, str]:
        return await api_keys.create_key(
            app.store, name, app.clock.now(), plan=plan, routes=list(routes)
        )

    key, secret = run(ctx, work, create=True)
    if as_json:
        emit_json({**key.describe(), "secret": secret})
        return
    print_fields({**key.describe(), "secret": secret})
    click.echo("store the secret now: it is not kept and cannot be shown again", err=True)


@keys.command("ls")
@json_option
@click.pass_context
def keys_ls(ctx: click.Context, as_json: bool) -> None:
    """List keys (never their secrets)."""
    found = run(ctx, lambda app: api_keys.list_keys(app.store))
    if as_json:
        emit_json([k.describe() for k in found])
        return
    rows = [(k.id, k.name, k.plan, ",".join(k.routes) or "*", k.revoked) for k in found]
    print_table(["id", "name", "plan", "routes", "revoked"], rows)


@keys.command("revoke")
@click.argument("key_id")
@json_option
@click.pass_context
def keys_revoke(ctx: click.Context, key_id: str, as_json: bool) -> None:
    """Revoke a key by id (servers refuse it within 5 s)."""
    key = run(ctx, lambda app: api_keys.update_key(app.store, key_id, revoked=True))
    if as_json:
        emit_json(key.describe())
        return
    click.echo(f"revoked {key.id} ({key.name})")


@main.group("plans", cls=OneLineGroup)
def plans() -> None:
    """Usage plans: per-key throttle and quota."""


@plans.command("create")
@click.argument("name")
@click.option(
    "--rate",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    help="Requests per second per key.",
)
@click.option("--burst", type=click.IntRange(min=1), default=None, help="Bucket capacity.")
@click.option("--quota", type=click.IntRange(min=1), default=None, help="Requests per period.")
@click.option("--period", type=click.Choice(PERIODS), default="DAY", show_default=True)
@click.option(
    "--offset",
    type=click.IntRange(min=0, max=27),
    default=0,
    show_default=True,
    help="Days into the period (WEEK: 0 Sunday; MONTH: 0 the 1st).",
)
@json_option
@click.pass_context
def plans_create(
    ctx: click.Context,
    name: str,
    rate: float | None,
    burst: int | None,
    quota: int | None,
    period: str,
    offset: int,
    as_json: bool,
) -> None:
    """Create or replace a usage plan."""

    async def work(app: App) -> usage_plans.UsagePlan:
        return await usage_plans.create_plan(
            app.store, name, rate=rate, burst=burst, quota=quota, period=period, offset=offset
        )

    plan = run(ctx, work, create=True)
    if as_json:
        emit_json(plan.describe())
        return
    print_fields(plan.describe())


@plans.command("ls")
@json_option
@click.pass_context
def plans_ls(ctx: click.Context, as_json: bool) -> None:
    """List usage plans."""
    found = run(ctx, lambda app: usage_plans.list_plans(app.store))
    if as_json:
        emit_json([p.describe() for p in found])
        return
    rows = [_plan_row(p) for p in found]
    print_table(["name", "rate", "burst", "quota", "period"], rows)


def _plan_row(plan: usage_plans.UsagePlan) -> tuple[object, ...]:
    t, q = plan.throttle, plan.quota
    return (plan.name, t and t.rate, t and t.burst, q and q.limit, q and q.period)


@plans.command("attach")
@click.argument("plan")
@click.argument("key_id")
@json_option
@click.pass_context
def plans_attach(ctx: click.Context, plan: str, key_id: str, as_json: bool) -> None:
    """Put the key KEY_ID on usage plan PLAN."""
    key = run(ctx, lambda app: api_keys.update_key(app.store, key_id, plan=plan))
    if as_json:
        emit_json(key.describe())
        return
    click.echo(f"{key.id} ({key.name}) is on plan {plan}")
