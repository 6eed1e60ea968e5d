"""``flask deploy nginx``: the reverse proxy for running several app processes on one site."""

from __future__ import annotations

from pathlib import Path

import click
from flask import render_template
from flask.cli import AppGroup


@click.group("deploy", cls=AppGroup)
def deploy_cli() -> None:
    """Deployment helpers (配備): the nginx configuration for several app processes."""


@deploy_cli.command("nginx")
@click.option(
    "--upstream",
    "upstreams",
    multiple=True,
    required=True,
    help="An app process (gunicorn) address, e.g. 127.0.0.1:8001; repeat for each.",
)
@click.option("--listen", default="443", show_default=True, help="Address nginx listens on.")
@click.option(
    "--prefix",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("/var/lib/kakanai-nginx"),
    show_default=True,
    help="Folder for nginx's pid, logs and temporary files (the config is written there).",
)
@click.option("--certificate", type=click.Path(dir_okay=False), help="TLS certificate (PEM).")
@click.option("--key", type=click.Path(dir_okay=False), help="TLS private key (PEM).")
@click.option("--access-log/--no-access-log", default=True, show_default=True)
def nginx(
    upstreams: tuple[str, ...],
    listen: str,
    prefix: Path,
    certificate: str | None,
    key: str | None,
    access_log: bool,
) -> None:
    """Write PREFIX/nginx.conf: cases pinned to one app process, the rest round-robin."""
    if bool(certificate) != bool(key):
        raise click.UsageError("--certificate and --key go together (or neither, for plain http).")
    prefix = prefix.resolve()
    prefix.mkdir(parents=True, exist_ok=True)
    config = render_template(
        "deploy/nginx.conf",
        upstreams=upstreams,
        listen=listen,
        prefix=prefix,
        certificate=certificate,
        key=key,
        access_log=f"{prefix}/access.log" if access_log else "off",
    )
    target = prefix / "nginx.conf"
    target.write_text(config + "\n", encoding="utf-8")
    click.echo(f"wrote {target}; start: nginx -p {prefix} -c {target}")
