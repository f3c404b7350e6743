"""``certcenter``: set up, serve, run the demo, read the demo world, operate, and be the app.

certcenter serve                 # first start: creates the CA and seeds the demo world
certcenter demo                  # the scripted issuance against the running center
certcenter app enroll            # the bank app's issuance flow, with prompts
certcenter sim sms 01020000001   # the demo phone's inbox
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
from pathlib import Path
from typing import Any

import click

from certcenter.cli import (
    approval_commands,
    card_commands,
    diagnosis_commands,
    joint_commands,
    joint_register_commands,
    joint_usage_commands,
    key_ceremony_commands,  # noqa: F401 — adds to keys ceremony
    key_commands,
    key_secret_commands,  # noqa: F401 - adds its commands to keys
    ocsp_commands,
    oidc_commands,
    otp_commands,
    overseas_commands,
    transfer_commands,
    usage_commands,
)
from certcenter.cli.client import CenterClient
from certcenter.cli.common import (
    fail,
    handle_errors,
    installation_config,
    keystore_option,
    language,
    local_center,
    local_settings,
    operator_actor,
    send_notices,
    url_option,
)
from certcenter.cli.flow import Answers, enroll, reissue
from certcenter.cli.keystore import Keystore
from certcenter.errors import CertCenterError
from certcenter.pki.names import display_name


@click.group()
@click.option(
    "--config",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="TOML configuration file (else CERTCENTER_CONFIG).",
)
@click.option(
    "--lang",
    type=click.Choice(["ko", "en"]),
    default=None,
    help="Language of messages (else CERTCENTER_LANG, default ko).",
)
@click.version_option(package_name="certcenter")
def cli(config: Path | None, lang: str | None) -> None:
    """인증센터 — certificate center."""


# ---------------------------------------------------------------- operator


@cli.command()
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


@cli.command()
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


@cli.group()
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


@cli.group()
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


@cli.group()
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


@cli.group()
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


@cli.group()
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


@cli.group()
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


@cli.group()
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


@cli.command("errors")
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


# ---------------------------------------------------------------- the demo world


@cli.group()
def sim() -> None:
    """The demo world's other side: phones, bank statements, people."""


_DOCUMENT_WORDS = {
    "resident_card": "주민등록증 (resident_card)",
    "driver_licence": "운전면허증 (driver_licence)",
    "passport": "여권 (passport)",
}


def _masked_rrn(rrn: str) -> str:
    return f"{rrn[:8]}******" if len(rrn) == 14 else "-"


def _document_line(document: dict[str, Any], rrn: str, birth_date: str) -> str:
    kind = document["kind"]
    if kind == "resident_card":
        old = "" if document.get("current", True) else "  ← 재발급 전 옛 카드 (old card)"
        return f"rrn {rrn}  issue date {document['issue_date']}{old}"
    if kind == "driver_licence":
        return (
            f"birth date {birth_date}  licence number {document['number']}  "
            f"serial {document['serial']}"
        )
    return (
        f"birth date {birth_date}  passport number {document['number']}  "
        f"expiry {document['expiry']}"
    )


@sim.command("people")
@click.argument("key", required=False)
@url_option
@handle_errors
def sim_people(key: str | None, url: str) -> None:
    """Who is in the demo world and what each meets; with KEY, everything the app asks that
    person for (the demo cards are fictional; the list shows the RRN masked, as on a copy)."""
    with CenterClient(url, locale=language()) as client:
        people = client.people()
    if key is None:
        for p in people:
            accounts = ", ".join(f"{a['bank']}:{a['number']}" for a in p["accounts"]) or "-"
            kinds = "+".join(d["kind"].split("_")[0] for d in p.get("documents", [])) or "-"
            click.echo(
                f"{p['key']:5} {p['name']:5} {_masked_rrn(p.get('rrn', '')):15} "
                f"{p['phone'] or '-':12} {p['carrier'] or '-':9} {accounts:22} {kinds:16} "
                f"{p['scenario'][language()]}"
            )
        click.echo("(certcenter sim people KEY: everything the app asks that person for)")
        return
    person = next((p for p in people if p["key"].upper() == key.upper()), None)
    if person is None:
        fail(f"no demo person {key!r}: choose one of {', '.join(p['key'] for p in people)}")
        return
    accounts = ", ".join(f"{a['bank']} {a['number']}" for a in person["accounts"]) or "-"
    click.echo(f"{person['key']} {person['name']}: {person['scenario'][language()]}")
    click.echo(f"  통신사 (carrier)          {person['carrier'] or '-'}")
    click.echo(f"  이름 (name)               {person['name']}")
    click.echo(f"  주민번호 앞 7자리 (rrn-front) {person['rrn'][:8]}")
    click.echo(f"  휴대폰 (phone)            {person['phone'] or '-'}")
    click.echo(f"  은행·계좌 (bank, account)  {accounts}")
    click.echo("  신분증 (ID, any one; the demo cards are fictional):")
    for document in person.get("documents", []):
        line = _document_line(document, person["rrn"], person["birth_date"])
        click.echo(f"    {_DOCUMENT_WORDS.get(document['kind'], document['kind'])}: {line}")


@sim.command("id-photo")
@click.argument("key")
@click.option(
    "--kind",
    type=click.Choice(["resident_card", "driver_licence", "passport"]),
    default=None,
    help="Which of the person's documents (default: the first they hold).",
)
@click.option("--glare", is_flag=True, help="A bright reflection over the text.")
@click.option("--blur", is_flag=True, help="Out of focus.")
@click.option("--dark", is_flag=True, help="Taken in a dim room.")
@click.option("--crop", is_flag=True, help="The card runs out of the frame.")
@click.option("--small", is_flag=True, help="The card far from the lens.")
@click.option("--warp", is_flag=True, help="Taken at a steep angle (the center corrects it).")
@click.option("--old-card", is_flag=True, help="The resident card a re-issue replaced.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option(
    "--out", type=click.Path(dir_okay=False, path_type=Path), default=None, help="JPEG to write."
)
@handle_errors
def sim_id_photo(
    key: str,
    kind: str | None,
    glare: bool,
    blur: bool,
    dark: bool,
    crop: bool,
    small: bool,
    warp: bool,
    old_card: bool,
    seed: int,
    out: Path | None,
) -> None:
    """Photograph a demo person's ID (a fictional card) for `certcenter app enroll
    --id-photo`, with the defects the center must refuse or cope with."""
    from certcenter.simulators.id_photos import photo  # Pillow only when asked
    from certcenter.simulators.world import load_world

    people = load_world().people
    person = people.get(key.upper())
    if person is None:
        fail(f"no demo person {key!r}: choose one of {', '.join(people)}")
        return
    held = [
        name
        for name, has in (
            ("resident_card", bool(person.resident_cards)),
            ("driver_licence", person.driver_licence is not None),
            ("passport", person.passport is not None),
        )
        if has
    ]
    chosen = kind or (held[0] if held else None)
    if chosen not in held:
        fail(f"{person.key} holds no {kind or 'ID document'} (holds: {', '.join(held) or '-'})")
        return
    flags = {"glare": glare, "blur": blur, "dark": dark, "crop": crop, "small": small}
    defects = [name for name, on in {**flags, "warp": warp}.items() if on]
    data = photo(person, chosen, defects=defects, seed=seed, old_card=old_card)
    target = out or Path(f"id-{person.key}-{chosen}{''.join('-' + d for d in defects)}.jpg")
    target.write_bytes(data)
    click.echo(
        f"{target} ({chosen}, {len(data) // 1024} KiB): certcenter app enroll --id-photo {target}"
    )


@sim.command("sms")
@click.argument("phone")
@url_option
@handle_errors
def sim_sms(phone: str, url: str) -> None:
    """Messages received by a demo phone (newest first)."""
    with CenterClient(url, locale=language()) as client:
        messages = client.messages("".join(ch for ch in phone if ch.isdigit()))
    if not messages:
        click.echo("(no messages)")
    for m in messages:
        folder = " [스팸함 spam]" if m["folder"] == "spam" else ""
        click.echo(f"{m['received_at'][:19]}  {m['sender']}{folder}\n  {m['body']}")


@sim.command("statement")
@click.argument("bank_code")
@click.argument("account_number")
@url_option
@handle_errors
def sim_statement(bank_code: str, account_number: str, url: str) -> None:
    """A demo account's statement (newest first): the 1-won deposit carries the code."""
    with CenterClient(url, locale=language()) as client:
        data = client.statement(bank_code, "".join(ch for ch in account_number if ch.isdigit()))
    click.echo(
        f"{data['bank']} {data['account_number']} ({data['holder']}, {data['status']}), "
        f"balance {data['balance']:,}"
    )
    for e in data["entries"]:
        click.echo(
            f"  {e['at'][:19]}  {e['description']:12} {e['amount']:>+8,}  {e['balance_after']:>12,}"
        )


@sim.command("account-status")
@click.argument("bank_code")
@click.argument("account_number")
@click.argument(
    "status", type=click.Choice(["normal", "dormant", "suspended", "transfer_restricted"])
)
@url_option
@handle_errors
def sim_account_status(bank_code: str, account_number: str, status: str, url: str) -> None:
    """Play the bank: change a demo account's status."""
    with CenterClient(url, locale=language()) as client:
        client.set_account_status(bank_code, account_number, status)
    click.echo(f"{bank_code} {account_number}: {status}")


@sim.command("line")
@click.argument("phone")
@click.option(
    "--spam-filter/--no-spam-filter", default=None, help="The phone's filter for 1588 numbers."
)
@click.option(
    "--corporate-personal-service/--no-corporate-personal-service",
    default=None,
    help="The carrier's personal-verification service for a corporate line.",
)
@url_option
@handle_errors
def sim_line(
    phone: str, spam_filter: bool | None, corporate_personal_service: bool | None, url: str
) -> None:
    """Play the telco or the phone's owner: change a demo line's settings."""
    values = {
        k: v
        for k, v in (
            ("spam_blocks_1588", spam_filter),
            ("corporate_personal_service", corporate_personal_service),
        )
        if v is not None
    }
    if not values:
        fail(
            "nothing to change: give --spam-filter/--no-spam-filter or "
            "--corporate-personal-service/--no-corporate-personal-service"
        )
    with CenterClient(url, locale=language()) as client:
        line = client.set_line("".join(ch for ch in phone if ch.isdigit()), **values)
    click.echo(", ".join(f"{k}: {v}" for k, v in line.items()))


@cli.command()
@url_option
@click.option("--customer", default="C001", show_default=True, help="Demo person to enrol.")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("demo-output"),
    show_default=True,
)
@click.option(
    "--move-certificate",
    is_flag=True,
    help="Move the customer's certificate from another device to this one.",
)
@handle_errors
def demo(url: str, customer: str, out: Path, move_certificate: bool) -> None:
    """Issue a mobile certificate for a demo customer, scripted, against the running center."""
    from certcenter.cli.demo import scripted_answers  # reads the demo world only when asked

    answers = scripted_answers(customer)
    answers.move_certificate = move_certificate
    keystore = Keystore(out / f"keystore-{customer}")
    with CenterClient(url, locale=language()) as client:
        outcome = enroll(client, keystore, answers, ask=_no_prompt, say=click.echo, auto_codes=True)
        sms = _after_issuance_notice(client, answers.phone or "")
    out.mkdir(parents=True, exist_ok=True)
    cert_path, chain_path = out / "certificate.pem", out / "chain.pem"
    cert_path.write_text(outcome.certificate_path.read_text("utf-8"), "utf-8")
    chain_path.write_text(outcome.chain_path.read_text("utf-8"), "utf-8")
    click.echo("")
    click.echo(f"issuance SMS: {sms[0]['body'] if sms else '(none)'}")
    click.echo(f"certificate: {cert_path}")
    click.echo(f"CA chain:    {chain_path}")
    click.echo(f"check it:    openssl verify -CAfile {chain_path} {cert_path}")


def _after_issuance_notice(
    client: CenterClient, phone: str, wait: float = 10.0
) -> list[dict[str, Any]]:
    """The phone's messages once the issuance notice is there. The center's sender sends it
    after the request has returned, so wait (up to ``wait`` seconds) for a message newer
    than the last verification code."""
    deadline = time.monotonic() + wait
    while True:
        sms = client.messages(phone)
        if (sms and not re.search(r"\[\d{6}\]", sms[0]["body"])) or time.monotonic() > deadline:
            return sms
        time.sleep(0.2)


def _no_prompt(prompt: str, secret: bool) -> str:
    raise click.UsageError(f"the scripted demo has no answer for: {prompt}")


# ---------------------------------------------------------------- the app


@cli.group()
def app() -> None:
    """The bank app on this computer: keeps a device key, issues and shows its certificate."""


@app.command("enroll")
@keystore_option
@url_option
@click.option(
    "--carrier",
    type=click.Choice(["SKT", "KT", "LGU", "SKT_MVNO", "KT_MVNO", "LGU_MVNO"]),
    default=None,
)
@click.option("--name", default=None)
@click.option("--rrn-front", default=None, help="YYMMDD-N")
@click.option("--phone", default=None)
@click.option("--bank", "bank_code", default=None, help="Bank code, e.g. 004.")
@click.option("--account", "account_number", default=None)
@click.option("--id-json", default=None, help='ID fields as JSON, e.g. {"kind": "passport", …}.')
@click.option(
    "--id-photo",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    default=None,
    help="A photo of the ID (JPEG/PNG) instead of typed fields; see `certcenter sim id-photo`.",
)
@click.option("--biometric/--no-biometric", default=False, help="Register a biometric key.")
@click.option("--move-certificate", is_flag=True, help="Move the certificate from another device.")
@click.option("--auto-codes", is_flag=True, help="Read codes from the demo world (/sim).")
@click.option("--app-version", default="5.2.0", show_default=True)
@click.option("--platform", type=click.Choice(["android", "ios"]), default="android")
@click.option(
    "--forwarded-for",
    default=None,
    help="Pretend to connect from this address (demo proxies only).",
)
@handle_errors
def app_enroll(
    keystore: Path,
    url: str,
    carrier: str | None,
    name: str | None,
    rrn_front: str | None,
    phone: str | None,
    bank_code: str | None,
    account_number: str | None,
    id_json: str | None,
    id_photo: Path | None,
    biometric: bool,
    move_certificate: bool,
    auto_codes: bool,
    app_version: str,
    platform: str,
    forwarded_for: str | None,
) -> None:
    """Issue a mobile certificate (KB국민인증서 발급) for this app's device."""
    answers = Answers(
        carrier=carrier,
        name=name,
        rrn_front=rrn_front,
        phone=phone,
        bank_code=bank_code,
        account_number=account_number,
        id_fields=json.loads(id_json) if id_json else {},
        id_photo=id_photo,
        biometric=biometric,
        move_certificate=move_certificate,
        app_version=app_version,
        platform=platform,
    )

    def ask(prompt: str, secret: bool) -> str:
        # Hidden input needs a terminal; from a pipe the answer is read as it comes (unechoed).
        return str(click.prompt(prompt, hide_input=secret and sys.stdin.isatty()))

    store = Keystore(keystore)
    with CenterClient(url, forwarded_for=forwarded_for, locale=language()) as client:
        outcome = enroll(client, store, answers, ask=ask, say=click.echo, auto_codes=auto_codes)
    click.echo(f"certificate: {outcome.certificate_path}\nchain: {outcome.chain_path}")


@app.command("show")
@keystore_option
@handle_errors
def app_show(keystore: Path) -> None:
    """The device and its certificate."""
    store = Keystore(keystore)
    device = store.device()
    if device is None:
        fail("no device yet: run `certcenter app enroll`")
        return
    click.echo(
        f"device {device.device_id} ({device.platform} {device.model}, app {device.app_version})"
    )
    cert = store.certificate()
    if cert is None:
        click.echo("no certificate yet")
        return
    click.echo(f"subject: {display_name(cert.subject)}")
    click.echo(f"issuer:  {display_name(cert.issuer)}")
    click.echo(f"serial:  {cert.serial_number:X}")
    click.echo(
        f"valid:   {cert.not_valid_before_utc:%Y-%m-%d} – {cert.not_valid_after_utc:%Y-%m-%d}"
    )


@app.command("export")
@keystore_option
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True)
@handle_errors
def app_export(keystore: Path, out: Path) -> None:
    """Write the certificate and its CA chain as PEM files (never the private key)."""
    store = Keystore(keystore)
    if store.certificate() is None:
        fail("no certificate yet: run `certcenter app enroll`")
        return
    out.mkdir(parents=True, exist_ok=True)
    (out / "certificate.pem").write_text(store.certificate_file.read_text("utf-8"), "utf-8")
    (out / "chain.pem").write_text(store.chain_file.read_text("utf-8"), "utf-8")
    click.echo(f"wrote {out / 'certificate.pem'} and {out / 'chain.pem'}")


def _device_action(
    keystore: Path,
    url: str,
    purpose: str,
    path_for: Any,
    extra: dict[str, Any] | None = None,
    *,
    send_device_id: bool = True,
) -> Any:
    store = Keystore(keystore)
    device, cert = store.device(), store.certificate()
    if device is None or cert is None:
        fail("no certificate on this device: run `certcenter app enroll`")
        return None
    pin = str(click.prompt("간편비밀번호 (PIN)", hide_input=sys.stdin.isatty()))
    with CenterClient(url, locale=language()) as client:
        return client.device_action(
            device.device_id,
            purpose,
            store.sign,
            pin,
            path_for(device, f"{cert.serial_number:X}"),
            extra,
            send_device_id=send_device_id,
        )


@app.command("revoke")
@keystore_option
@url_option
@click.option(
    "--reason",
    default="unspecified",
    show_default=True,
    type=click.Choice(
        ["unspecified", "keyCompromise", "affiliationChanged", "cessationOfOperation"]
    ),
)
@handle_errors
def app_revoke(keystore: Path, url: str, reason: str) -> None:
    """인증서 폐기: revoke this device's certificate (asks for the PIN)."""
    result = _device_action(
        keystore, url, "revoke", lambda d, s: f"/v1/certificates/{s}/revoke", {"reason": reason}
    )
    click.echo(f"{result['serial']}: {result['status']}")


@app.command("renew")
@keystore_option
@url_option
@handle_errors
def app_renew(keystore: Path, url: str) -> None:
    """갱신: a new certificate for the same key (asks for the PIN)."""
    result = _device_action(keystore, url, "renew", lambda d, s: f"/v1/certificates/{s}/renew")
    with CenterClient(url, locale=language()) as client:
        shown = client.certificate(result["replaced_by"])
    store = Keystore(keystore)
    store.certificate_file.write_text(shown["certificate"], "utf-8")
    click.echo(f"{result['serial']} renewed as {result['replaced_by']}")


@app.command("release")
@keystore_option
@url_option
@handle_errors
def app_release(keystore: Path, url: str) -> None:
    """정지 해제 from the found phone (asks for the PIN)."""
    result = _device_action(keystore, url, "release", lambda d, s: f"/v1/certificates/{s}/release")
    click.echo(f"{result['serial']}: {result['status']}")


@app.command("deregister")
@keystore_option
@url_option
@handle_errors
def app_deregister(keystore: Path, url: str) -> None:
    """기기등록 해지: this device leaves; its certificate is revoked (asks for the PIN)."""
    results = _device_action(
        keystore,
        url,
        "deregister",
        lambda d, s: f"/v1/devices/{d.device_id}/deregister",
        send_device_id=False,
    )
    for result in results:
        click.echo(f"{result['serial']}: {result['status']}")


@app.command("reissue")
@keystore_option
@url_option
@handle_errors
def app_reissue(keystore: Path, url: str) -> None:
    """재발급 from this registered device: a new key, without the proofing steps."""
    hidden = sys.stdin.isatty()
    pin = str(click.prompt("현재 간편비밀번호 (current PIN)", hide_input=hidden))
    new_pin = str(click.prompt("새 간편비밀번호 (new PIN)", hide_input=hidden))
    text = str(click.prompt("새 패턴 (new pattern, e.g. 0-1-2-5-8)", hide_input=hidden))
    pattern = [int(p) for p in text.replace(",", "-").split("-") if p.strip()]
    with CenterClient(url, locale=language()) as client:
        reissue(
            client, Keystore(keystore), pin=pin, new_pin=new_pin, pattern=pattern, say=click.echo
        )


@app.command("lost")
@url_option
@click.option(
    "--carrier",
    required=True,
    type=click.Choice(["SKT", "KT", "LGU", "SKT_MVNO", "KT_MVNO", "LGU_MVNO"]),
)
@click.option("--name", required=True)
@click.option("--rrn-front", required=True, help="YYMMDD-N")
@click.option("--phone", required=True)
@click.option(
    "--medium",
    required=True,
    type=click.Choice(["account", "otp", "security_card"]),
    help="what confirms the report: the withdrawal account and its password, the OTP, the card",
)
@click.option("--account", "account_number", help="the withdrawal account (with --medium account)")
@handle_errors
def app_lost(
    url: str,
    carrier: str,
    name: str,
    rrn_front: str,
    phone: str,
    medium: str,
    account_number: str | None,
) -> None:
    """분실 신고 (from any device): the line's details, then a medium you hold (asked for);
    the lost phone's certificate is suspended and an undo code is sent to you."""
    hidden = sys.stdin.isatty()
    with CenterClient(url, locale=language()) as client:
        started = client.lost_phone(carrier=carrier, name=name, rrn_front=rrn_front, phone=phone)
        report = str(started["report_id"])
        click.echo(f"신고번호 (report): {report}")
        answer: dict[str, str] = {}
        if medium == "account":
            number = account_number or str(click.prompt("출금계좌 (withdrawal account)"))
            answer["account_number"] = number
            answer["account_password"] = str(
                click.prompt("계좌 비밀번호 (account password)", hide_input=hidden)
            )
        elif medium == "otp":
            answer["otp_code"] = str(click.prompt("OTP 번호 (OTP code)", hide_input=hidden))
        else:
            card = client.lost_phone_card(report)
            answer["card_challenge_id"] = str(card["challenge_id"])
            answer["card_answer"] = str(
                click.prompt(
                    f"보안카드 {card['slot_a']}번 앞 2자리 + {card['slot_b']}번 뒤 2자리 "
                    f"(card slot {card['slot_a']} first 2 + slot {card['slot_b']} last 2)",
                    hide_input=hidden,
                )
            )
        results = client.lost_phone_confirm(report, medium, **answer)
    for result in results:
        click.echo(f"{result['serial']}: {result['status']}")


@app.command("lost-undo")
@url_option
@click.option("--report", "report_id", required=True, help="the report number in the SMS/mail")
@click.option("--code", required=True, help="the undo code in the SMS/mail")
@handle_errors
def app_lost_undo(url: str, report_id: str, code: str) -> None:
    """분실 신고 취소: the code sent at suspension lifts it at once (single use)."""
    with CenterClient(url, locale=language()) as client:
        results = client.lost_phone_undo(report_id, code)
    for result in results:
        click.echo(f"{result['serial']}: {result['status']}")


customers.add_command(card_commands.customers_issue_card)
customers.add_command(diagnosis_commands.customers_diagnose)
sim.add_command(card_commands.sim_card)
app.add_command(card_commands.app_card)
app.add_command(otp_commands.app_otp)
app.add_command(overseas_commands.app_overseas_access)
for command in (
    usage_commands.app_login,
    usage_commands.app_logout,
    usage_commands.app_transfer,
    usage_commands.app_transfers,
    usage_commands.app_sign,
):
    app.add_command(command)
sim.add_command(usage_commands.sim_ars)
app.add_command(approval_commands.app_approve)
app.add_command(joint_commands.joint)
for command in (*joint_usage_commands.COMMANDS, *joint_register_commands.COMMANDS):
    joint_commands.joint.add_command(command)
sim.add_command(approval_commands.sim_departures)
cli.add_command(ocsp_commands.ocsp)
cli.add_command(key_commands.keys)
cli.add_command(oidc_commands.oidc)
cli.add_command(transfer_commands.transfers)


def main() -> None:
    cli(prog_name="certcenter")
