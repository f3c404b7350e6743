"""``certcenter oidc``: the OpenID provider's clients and signing keys (operator, local).

    $ certcenter oidc clients add gov24 --name 정부24 --redirect-uri https://gov24.example/cb \\
          --auth client_secret_basic --scopes "openid profile phone birthdate"
    {"client_id": "gov24", "client_secret": "…", …}          # the secret is shown this once
    $ certcenter oidc clients add app --name 앱 --auth none --redirect-uri http://127.0.0.1/cb
    $ certcenter oidc clients add bank --auth private_key_jwt --jwks-file bank.jwks ...
    $ certcenter oidc clients list
    $ certcenter oidc keys rotate          # a new ES256 key; the previous one stays published
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from certcenter.cli.common import handle_errors, local_center


@click.group()
def oidc() -> None:
    """The OpenID provider: sites that log their visitors in with certificates here."""


@oidc.group("clients")
def clients() -> None:
    """Registered sites (OpenID Connect clients)."""


@clients.command("add")
@click.argument("client_id")
@click.option("--name", required=True, help="The site's name as the customer sees it.")
@click.option(
    "--redirect-uri",
    "redirect_uris",
    multiple=True,
    required=True,
    help="Exact redirect URI (repeat for more).",
)
@click.option(
    "--auth",
    "auth_method",
    default="client_secret_basic",
    show_default=True,
    type=click.Choice(["client_secret_basic", "private_key_jwt", "none"]),
    help="Client authentication; none is a public client (PKCE only).",
)
@click.option(
    "--scopes",
    default="openid profile",
    show_default=True,
    help="Allowed scopes: openid profile phone birthdate.",
)
@click.option("--allow-ci", is_flag=True, help="May receive the CI (연계정보) with scope ci.")
@click.option(
    "--require-par", is_flag=True, help="Authorization requests only pushed first (RFC 9126)."
)
@click.option(
    "--jwks-file",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="private_key_jwt: the client's public keys (a JWKS).",
)
@click.option(
    "--post-logout-redirect-uri",
    "logout_uris",
    multiple=True,
    help="Where RP-initiated logout may send the browser back.",
)
@handle_errors
def clients_add(
    client_id: str,
    name: str,
    redirect_uris: tuple[str, ...],
    auth_method: str,
    scopes: str,
    allow_ci: bool,
    require_par: bool,
    jwks_file: Path | None,
    logout_uris: tuple[str, ...],
) -> None:
    """Register a site. A client_secret_basic secret is printed once and never again."""
    center = local_center()
    try:
        made = center.oidc.clients.add(
            client_id,
            name,
            redirect_uris=redirect_uris,
            auth_method=auth_method,
            scopes=scopes,
            allow_ci=allow_ci,
            require_par=require_par,
            jwks=jwks_file.read_text("utf-8") if jwks_file else None,
            post_logout_redirect_uris=logout_uris,
        )
    finally:
        center.close()
    out = {
        "client_id": made.client.client_id,
        "name": made.client.name,
        "kind": made.client.kind,
        "auth_method": made.client.auth_method,
        "redirect_uris": made.client.redirect_uris,
        "scopes": made.client.scopes,
        "allow_ci": made.client.allow_ci,
        "require_par": made.client.require_par,
    }
    if made.secret:
        out["client_secret"] = made.secret
    click.echo(json.dumps(out, ensure_ascii=False))


@clients.command("list")
@handle_errors
def clients_list() -> None:
    """The registered sites (no secrets)."""
    center = local_center()
    try:
        found = center.oidc.clients.list()
    finally:
        center.close()
    for client in found:
        click.echo(
            json.dumps(
                {
                    "client_id": client.client_id,
                    "name": client.name,
                    "auth_method": client.auth_method,
                    "redirect_uris": client.redirect_uris,
                    "scopes": client.scopes,
                    "allow_ci": client.allow_ci,
                    "require_par": client.require_par,
                },
                ensure_ascii=False,
            )
        )


@oidc.group("keys")
def keys() -> None:
    """The ID tokens' signing keys (ES256, in the key backend)."""


@keys.command("rotate")
@handle_errors
def keys_rotate() -> None:
    """A new signing key; the one before stays in the JWKS until the next rotation."""
    center = local_center()
    try:
        made = center.oidc.keys.rotate()
        published = [k.kid for k in center.oidc.keys.published()]
    finally:
        center.close()
    click.echo(json.dumps({"current": made.kid, "published": published}))
