"""The operator's commands, on this machine's center: ``certcenter init``, ``serve``,
``customers``, ``certificates``, ``crl``, ``audit``, ``jobs``, ``operators``, ``db`` and ``errors``.

certcenter serve                          # first start: creates the CA and seeds the demo world
certcenter certificates list --status active
certcenter audit verify
"""

from __future__ import annotations

import json
import os

import click

from certcenter.cli.common import (
    handle_errors,
    installation_config,
    language,
    local_center,
    local_settings,
    operator_actor,
    send_notices,
)
from certcenter.cli.lazy import LazyGroup
from certcenter.errors import CertCenterError


@click.command()
@handle_errors
def init() -> None:
    """Create the directories, databases, CA hierarchy and demo world (idempotent)."""
    from certcenter.bootstrap import initialise
    from certcenter.config import write_installation_file

    settings = local_settings(installed=False)
    report = initialise(settings)
    if report.created_passphrase:
        click.echo(f"demo key-store passphrase written to {settings.demo_passphrase_file}")
    written = write_installation_file(settings) if installation_config() is None else None
    if written is not None:
        click.echo(f"configuration written to {written} (CERTCENTER_CONFIG finds it from anywhere)")
    root = report.hierarchy.root.certificate
    click.echo(f"CA ready in {settings.ca_path} (root: {root.subject.rfc4514_string()})")
    click.echo(f"database: {settings.database_url}")
    if report.seeded_world:
        click.echo("demo world seeded (see /sim or `certcenter sim people`)")


@click.command()
@click.option("--host", default=None, help="Address to listen on (default 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Port (default 8000).")
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    default=None,
    help="Server processes (default: the `workers` setting, else one per core; SQLite: 4 at most).",
)
@handle_errors
def serve(host: str | None, port: int | None, workers: int | None) -> None:
    """Start the center (and set it up first if this is the first start)."""
    import uvicorn

    from certcenter.bootstrap import initialise
    from certcenter.config import write_installation_file

    settings = local_settings(installed=False)
    report = initialise(settings)
    if report.created_passphrase:
        click.echo(f"demo key-store passphrase written to {settings.demo_passphrase_file}")
    if installation_config() is None and write_installation_file(settings) is not None:
        click.echo(f"configuration written to {settings.data_dir / 'certcenter.toml'}")
    found = installation_config()
    if found is not None:  # the workers read the same file
        os.environ["CERTCENTER_CONFIG"] = str(found.resolve())
    host = host or settings.host
    port = port or settings.port
    click.echo(f"certcenter on http://{host}:{port}  (API docs /docs, demo world /sim)")
    uvicorn.run(
        "certcenter.server:app_from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers or settings.workers,
        proxy_headers=False,
        log_level=settings.log_level,
        access_log=True,
        timeout_worker_healthcheck=WORKER_HEALTHCHECK_SECONDS,
    )


# How long uvicorn's supervisor waits for a worker to answer its health check before it kills
# and replaces it. Its default (5 s) is shorter than a worker's start on a busy machine
# (spawning, importing the app, opening the databases): the supervisor then killed every new
# worker before it could answer, and the server never came up.
WORKER_HEALTHCHECK_SECONDS = 60


@click.group(
    cls=LazyGroup,
    lazy_subcommands={
        "issue-card": "certcenter.cli.card_commands:customers_issue_card",
        "diagnose": "certcenter.cli.diagnosis_commands:customers_diagnose",
    },
)
def customers() -> None:
    """Customers of the bank (operator)."""


@customers.command("list")
@click.option("--limit", default=100, show_default=True)
@handle_errors
def customers_list(limit: int) -> None:
    center = local_center()
    with center.uow_factory() as uow:
        rows = uow.customers.list(limit=limit)
        for c in rows:
            device = uow.devices.active_for_customer(c.id)
            certs = uow.certificates.for_customer(c.id, statuses=["active", "suspended"])
            click.echo(
                f"{c.customer_number:6} {c.name:6} {c.phone}  internet banking: "
                f"{'yes' if c.internet_banking else 'no '}  overseas: "
                f"{'yes' if c.overseas_access else 'no '}  device: "
                f"{device.device_id if device else '-'}  certificates: "
                f"{', '.join(x.serial for x in certs) or '-'}"
            )
    center.close()


@click.group()
def certificates() -> None:
    """Certificates issued by the center (operator)."""


@certificates.command("list")
@click.option("--status", default=None, help="active, superseded, pending, …")
@click.option("--limit", default=100, show_default=True)
@handle_errors
def certificates_list(status: str | None, limit: int) -> None:
    center = local_center()
    with center.uow_factory() as uow:
        for r in uow.certificates.list(limit=limit, status=status):
            click.echo(
                f"{r.serial}  {r.status:10} {r.profile:7} {r.not_after:%Y-%m-%d}  "
                f"device {r.device_id or '-'}  {r.subject}"
            )
    center.close()


@certificates.command("revoke")
@click.argument("serial")
@click.option(
    "--reason",
    default="unspecified",
    show_default=True,
    type=click.Choice(
        [
            "unspecified",
            "keyCompromise",
            "affiliationChanged",
            "superseded",
            "cessationOfOperation",
            "privilegeWithdrawn",
        ]
    ),
)
@handle_errors
def certificates_revoke(serial: str, reason: str) -> None:
    """Revoke a certificate (RFC 5280 reason); idempotent."""
    center = local_center()
    outcome = center.lifecycle.revoke(serial, reason, operator_actor())
    if outcome.changed:
        click.echo(f"{outcome.serial}: {outcome.status}")
    else:  # idempotent: nothing changed, and the operator is told why
        before = center.lifecycle.certificate(outcome.serial)
        already = CertCenterError(
            "CERTIFICATE_ALREADY_REVOKED", reason=before.revocation_reason or "-"
        )
        note = already.message(language())
        click.echo(f"{outcome.serial}: {outcome.status} (unchanged) — {note}")
    send_notices(center)
    center.close()


@certificates.command("suspend")
@click.argument("serial")
@handle_errors
def certificates_suspend(serial: str) -> None:
    """Suspend a certificate (certificateHold)."""
    center = local_center()
    outcome = center.lifecycle.suspend(serial, operator_actor(), why="operator")
    click.echo(f"{outcome.serial}: {outcome.status}")
    send_notices(center)
    center.close()


@certificates.command("release")
@click.argument("serial")
@handle_errors
def certificates_release(serial: str) -> None:
    """Release a suspended certificate."""
    center = local_center()
    outcome = center.lifecycle.release(serial, operator_actor())
    click.echo(f"{outcome.serial}: {outcome.status}")
    send_notices(center)
    center.close()


@click.group()
def crl() -> None:
    """Certificate revocation lists."""


@crl.command("publish")
@click.option("--family", default="mobile", show_default=True)
@handle_errors
def crl_publish(family: str) -> None:
    """Publish every partition of a family's CRL now, under each URL its certificates name.

    Refused (CRL_DISTRIBUTION_POINT_MISMATCH) when the configured public URL is not one the
    family's certificates name: the command is not running with the server's configuration."""
    center = local_center()
    try:
        center.revocation.crls.check_public_url(family)
    except Exception:
        center.close()
        raise
    result = center.operator_desk.publish_crls(family, operator_actor())
    click.echo(json.dumps(result, ensure_ascii=False))
    center.close()


@click.group()
def audit() -> None:
    """The hash-chained audit trail."""


@audit.command("verify")
@handle_errors
def audit_verify() -> None:
    """Recompute the chain and check it against every signed checkpoint, published and
    stored; report the first broken entry or disagreeing checkpoint (exit 1)."""
    from certcenter.lifecycle.operator_desk import verification_error

    center = local_center()
    try:
        result = center.operator_desk.verify_audit(operator_actor())
    finally:
        center.close()
    error = verification_error(result)
    if error is not None:
        raise error
    unsealed = f", {result['unsealed']} not sealed yet" if result["unsealed"] else ""
    click.echo(
        f"audit trail intact: {result['checked']} entries, "
        f"{result['checkpoints']} signed checkpoints agree{unsealed}"
    )


@audit.command("seal")
@handle_errors
def audit_seal() -> None:
    """Seal the committed entries now, under a signed checkpoint published like the others
    (the server's sealer does this every audit_seal_interval_seconds)."""
    center = local_center()
    try:
        made = center.audit_checkpoints.seal(wait=True)
        with center.uow_factory() as uow:
            head, _ = uow.audit.head()
    finally:
        center.close()
    if made is None:
        click.echo(f"nothing to seal: {head} entries sealed")
        return
    click.echo(
        f"sealed up to entry {made.seq} (root {made.root_hash}); checkpoint published to "
        f"{center.settings.audit_checkpoint_path}"
    )


@audit.command("checkpoint")
@handle_errors
def audit_checkpoint() -> None:
    """Seal what has committed and publish its signed checkpoint now (the server's sealer
    does this every audit_seal_interval_seconds)."""
    center = local_center()
    try:
        made = center.operator_desk.checkpoint_audit(operator_actor())
        where = center.settings.audit_checkpoint_path
    finally:
        center.close()
    if made is None:
        click.echo("the audit trail is empty: nothing to sign")
        return
    click.echo(
        f"checkpoint of entry {made['seq']} (head {made['head_hash']}) signed and "
        f"published to {where}"
    )


@click.group()
def jobs() -> None:
    """Lifecycle jobs: expiry, inactivity, auto-renewal, CRL and OCSP refresh."""


@jobs.command("run")
@handle_errors
def jobs_run() -> None:
    """One pass now (safe while servers run their own)."""
    center = local_center()
    report = center.jobs.run_once()
    click.echo(report.summary())
    send_notices(center)
    center.close()


@click.group()
def operators() -> None:
    """Operator accounts and their API tokens."""


@operators.command("add")
@click.argument("name")
@click.option(
    "--role", "roles", multiple=True, type=click.Choice(["operator", "auditor"]), required=True
)
@handle_errors
def operators_add(name: str, roles: tuple[str, ...]) -> None:
    """Create an operator; the token is shown once."""
    center = local_center()
    token = center.operators.create(name, list(roles))
    center.close()
    click.echo(f"operator {name} ({', '.join(roles)}) token (shown once): {token}")


@click.group()
def db() -> None:
    """Database schema (operator)."""


@db.command("upgrade")
@handle_errors
def db_upgrade() -> None:
    """Migrate the center's and the simulators' databases to the newest schema."""
    from certcenter.storage import migrate
    from certcenter.storage.database import make_engine

    settings = local_settings()
    migrate.upgrade(make_engine(settings.database_url))
    if settings.sims_enabled:
        migrate.upgrade(make_engine(settings.simulator_database_url), simulators=True)
    click.echo("schema is current")


@click.command("errors")
@click.option("--markdown", is_flag=True, help="The whole catalog as a Markdown document.")
@handle_errors
def errors_command(markdown: bool) -> None:
    """The error catalog: every code the center answers with."""
    from certcenter.errors.document import catalog_markdown

    if markdown:
        click.echo(catalog_markdown(), nl=False)
        return
    from certcenter.errors import catalog

    lang = language()
    for code, item in catalog().items():
        click.echo(f"{item.http_status}  {code:36} {item.text('message', lang)}")
