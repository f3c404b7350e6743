"""``certcenter ocsp publish DIR``: the pre-signed OCSP responses as files (operator, local).

    $ certcenter ocsp publish /srv/www/ocsp
    {"written": 1204, "refreshed": 37, "removed": 2, "directory": "/srv/www/ocsp"}

See :mod:`certcenter.revocation.ocsp_files` for the file names and what is refreshed first.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from certcenter.cli.common import handle_errors, local_center


@click.group()
def ocsp() -> None:
    """OCSP responses."""


@ocsp.command("publish")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@handle_errors
def ocsp_publish(directory: Path) -> None:
    """Write every pre-signed OCSP response into DIRECTORY for a static web server, as
    <issuer key hash>-<serial>.der; responses near their nextUpdate are re-signed first."""
    from certcenter.revocation.ocsp_files import publish_responses

    center = local_center()
    try:
        result = publish_responses(center.revocation.ocsp, directory)
    finally:
        center.close()
    click.echo(
        json.dumps(
            {
                "written": result.written,
                "refreshed": result.refreshed,
                "removed": result.removed,
                "directory": str(directory),
            }
        )
    )
