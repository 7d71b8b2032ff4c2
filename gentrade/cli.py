"""``flask gentrade …``: operator commands."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from gentrade import devkeys
from gentrade.identity import is_valid_clerk_id
from gentrade.runtime import runtime


@click.group("gentrade")
def gentrade_cli() -> None:
    """GenTrade operator commands."""


@gentrade_cli.command("dev-token")
@click.argument("clerk_id")
@click.option("--ttl", default=24 * 3600, show_default=True, help="Lifetime in seconds.")
@with_appcontext
def dev_token(clerk_id: str, ttl: int) -> None:
    """Print a development session token for CLERK_ID (embedded default only)."""
    settings = runtime().settings
    if settings.uses_clerk_keys:
        raise click.ClickException("Clerk keys are configured: the API does not accept development tokens.")
    if not is_valid_clerk_id(clerk_id):
        raise click.BadParameter("expected a Clerk user id such as user_demo", param_hint="CLERK_ID")
    parties = settings.clerk_authorized_parties
    click.echo(
        devkeys.mint_token(
            settings.resolved_data_dir,
            clerk_id,
            ttl_seconds=ttl,
            issuer=settings.clerk_issuer,
            azp=parties[0] if parties else None,
        )
    )
