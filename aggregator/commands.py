"""`vidsentry persons` and `vidsentry alerts tail|ack`: read what the aggregator keeps in Redis."""

from __future__ import annotations

import datetime as dt
import json
import time
from typing import Annotated, Optional

import redis
import typer

from vidsentry.cli_context import cli_config, fail

alerts_app = typer.Typer(help="The alert stream in Redis: follow it, acknowledge alerts.", no_args_is_help=True)


def _redis(ctx: typer.Context) -> tuple[redis.Redis, str]:
    config = cli_config(ctx)
    if not config.redis.url:
        fail("redis.url is not set (VIDSENTRY_REDIS__URL=redis://host:port/0)")
    from vidsentry.redis_client import redis_client

    return redis_client(config.redis, socket_connect_timeout=5), config.aggregator.redis_prefix


def _clock(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%d %H:%M:%S")


def persons(
    ctx: typer.Context,
    within_s: Annotated[float, typer.Option("--within", help="Seen in the last this many seconds (capture time).")] = 10.0,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Who is in view now: identity, camera, action and emotion of everyone seen recently."""
    client, prefix = _redis(ctx)
    since = time.time() - within_s
    rows = []
    try:
        for person_id in client.zrangebyscore(f"{prefix}:persons", since, "+inf"):
            raw = client.hgetall(f"{prefix}:person:{person_id.decode()}")
            if raw:
                rows.append({k.decode(): json.loads(v) for k, v in raw.items()})
    except redis.ConnectionError as exc:
        fail(f"cannot reach redis: {exc}", code=1)
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        typer.echo(f"nobody seen in the last {within_s:g} s")
        return
    typer.echo(f"{'person':<24} {'who':<16} {'camera':<12} {'action':<10} {'emotion':<9} {'in view since':<20} last seen")
    for row in sorted(rows, key=lambda r: -r["last_seen"]):
        who = row.get("name") or row.get("identity", "")
        typer.echo(f"{row['person_id']:<24} {who:<16} {row['camera']:<12} {row.get('action') or '-':<10} "
                   f"{row.get('emotion') or '-':<9} {_clock(row['in_view_since']):<20} {_clock(row['last_seen'])}")


@alerts_app.command("tail")
def tail(
    ctx: typer.Context,
    group: Annotated[Optional[str], typer.Option(help="Consumer group: each alert goes to one consumer of the group and stays pending until acked.")] = None,
    consumer: Annotated[str, typer.Option(help="This consumer's name within --group.")] = "cli",
    from_start: Annotated[bool, typer.Option("--from-start", help="Replay the stream from its oldest alert.")] = False,
    follow: Annotated[bool, typer.Option(help="Keep waiting for new alerts (--no-follow: print what is there and exit).")] = True,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
) -> None:
    """Follow the alert stream."""
    client, prefix = _redis(ctx)
    stream = f"{prefix}:alerts"
    last = "0" if from_start else "$"
    if group:
        try:
            client.xgroup_create(stream, group, id="0" if from_start else "$", mkstream=True)
        except redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise
    if not follow and last == "$" and not group:
        last = "0"
    while True:
        if group:
            reply = client.xreadgroup(group, consumer, {stream: ">"}, count=100, block=1000 if follow else None)
        else:
            reply = client.xread({stream: last}, count=100, block=1000 if follow else None)
        entries = reply[0][1] if reply else []
        for entry_id, fields in entries:
            last = entry_id
            alert = json.loads(fields[b"alert"])
            if as_json:
                typer.echo(json.dumps({"entry": entry_id.decode(), **alert}))
            else:
                typer.echo(f"{entry_id.decode()}  {_clock(alert['ts'])}  {alert['severity']:<8} {alert['status']:<9} "
                           f"{alert['rule']:<18} {alert['camera']:<12} {alert['subject']}")
        if not follow and not entries:
            return


@alerts_app.command("ack")
def ack(
    ctx: typer.Context,
    entries: Annotated[list[str], typer.Argument(help="Stream entry ids, as `alerts tail` prints them.")],
    group: Annotated[str, typer.Option(help="The consumer group that read them.")],
) -> None:
    """Acknowledge alerts a consumer group has handled (they leave its pending list)."""
    client, prefix = _redis(ctx)
    done = ack_alerts(client, prefix, group, entries)
    typer.echo(f"acknowledged {done} of {len(entries)}")
    if done != len(entries):
        raise typer.Exit(1)


def ack_alerts(client: redis.Redis, prefix: str, group: str, entries: list[str]) -> int:
    """XACK stream entries for ``group``: how many left its pending list (`alerts ack` and the console)."""
    return int(client.xack(f"{prefix}:alerts", group, *entries))
