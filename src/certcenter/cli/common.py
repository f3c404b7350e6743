"""What every ``certcenter`` command module shares: the language of its messages, refusals in
the catalog's words, the ``--url`` and ``--keystore`` options, and the local center that the
operator commands open.

    @click.command("status")
    @keystore_option
    @url_option
    @handle_errors
    def app_card_status(keystore: Path, url: str) -> None:
        with CenterClient(url, locale=language()) as client:
            ...

``main.py`` builds the ``certcenter`` group and names the commands of the ``*_commands``
modules, which it imports only when a command is used; those modules import this one, never
``main``.
"""

from __future__ import annotations

import contextlib
import functools
import getpass
import os
import secrets
import sys
import tempfile
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from certcenter.cli.api_error import ApiError
from certcenter.errors import CertCenterError, Locale

DEFAULT_URL = os.environ.get("CERTCENTER_URL", "http://127.0.0.1:8000")
KEYSTORE_HELP = "Where the app keeps its device keys."
F = TypeVar("F", bound=Callable[..., Any])


def language() -> Locale:
    """``--lang`` of the ``certcenter`` command, else ``CERTCENTER_LANG``, else Korean."""
    ctx = click.get_current_context(silent=True)
    root = ctx.find_root() if ctx else None
    value = (root.params.get("lang") if root else None) or os.environ.get("CERTCENTER_LANG", "ko")
    if str(value).startswith("en"):
        return "en"
    return "ko"


def fail(text: str) -> None:
    """End the command: the text in red on stderr, exit status 1."""
    click.secho(text, fg="red", err=True)
    sys.exit(1)


def _keep_traceback(incident: str) -> Path:
    """The current exception's traceback in a file of this user's only, for whoever helps."""
    path = Path(tempfile.gettempdir()) / f"certcenter-incident-{incident}.txt"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(traceback.format_exc())
    return path


def handle_errors(func: F) -> F:
    """Refusals end the command with the catalog's words and remedy, never a traceback."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except ApiError as err:
            fail(err.text(language()))
        except CertCenterError as err:
            fail(err.diagnostics(language()))
        except (click.exceptions.Exit, click.ClickException, click.Abort, SystemExit):
            raise
        except BrokenPipeError:  # the reader went away (`| head`): nothing more to say
            # Python's flush at exit must not fail again on the closed pipe
            with contextlib.suppress(OSError, ValueError):
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            sys.exit(1)
        except Exception:  # noqa: BLE001 — never a traceback on screen; kept under an incident
            incident = secrets.token_hex(6)
            kept = _keep_traceback(incident)
            text = CertCenterError("INTERNAL_ERROR", incident=incident).diagnostics(language())
            fail(f"{text}\n({kept})")
        return None

    return wrapper  # type: ignore[return-value]


def url_option(func: F) -> F:
    """``--url``: the running center (``CERTCENTER_URL``, else http://127.0.0.1:8000)."""
    return click.option("--url", default=DEFAULT_URL, show_default=True)(func)


def keystore_option(func: F, *, help_text: str = KEYSTORE_HELP) -> F:
    """``--keystore``: the app's directory (``CERTCENTER_APP_KEYSTORE``, else
    ``~/.certcenter-app``)."""
    return click.option(
        "--keystore",
        type=click.Path(file_okay=False, path_type=Path),
        default=Path(os.environ.get("CERTCENTER_APP_KEYSTORE", "~/.certcenter-app")).expanduser(),
        show_default=True,
        help=help_text,
    )(func)


# ---------------------------------------------------------------- operator commands, local


def installation_config() -> Path | None:
    """The configuration file the command reads: ``certcenter --config FILE``, else
    :func:`certcenter.config.find_config_file` (None: defaults and variables only)."""
    from certcenter.config import find_config_file

    ctx = click.get_current_context(silent=True)
    named = ctx.find_root().params.get("config") if ctx else None
    return Path(named) if named else find_config_file()


def local_settings(*, installed: bool = True) -> Any:
    """The settings of this machine's center, read from the installation's file wherever the
    command runs (``--config``, ``CERTCENTER_CONFIG``, ``$CERTCENTER_DATA_DIR/certcenter.toml``,
    ``./certcenter.toml``, ``./var/certcenter.toml``: :func:`certcenter.config.find_config_file`).
    With ``installed`` (every command but ``init`` and ``serve``) a folder where set-up
    never ran is refused (``INSTALLATION_NOT_FOUND``) instead of being created empty."""
    from certcenter import config  # loaded only by the commands that need it

    found = installation_config()
    if found is not None and not found.is_file():
        raise CertCenterError("CONFIG_FILE_NOT_FOUND", path=str(found))
    settings = config.load_settings(config_file=found.resolve() if found else None)
    if installed and not config.is_installed(settings):
        raise CertCenterError(
            "INSTALLATION_NOT_FOUND",
            where=str(found.resolve()) if found else str(Path.cwd()),
            data_dir=str(settings.data_dir.resolve()),
        )
    return settings


def local_center() -> Any:
    """This machine's center, built from :func:`local_settings`; the caller closes it."""
    from certcenter.bootstrap import build_center  # the whole center: only for local commands

    return build_center(local_settings())


def send_notices(center: Any) -> None:
    """Send what the command wrote to the outbox before it ends: no sender thread runs in a
    command's process. A message that fails stays due, for a server's sender to retry; a
    sender that cannot reach the database does not fail a change that was committed."""
    try:
        center.sender.drain()
    except Exception:  # noqa: BLE001 - the change is done; the messages wait in the outbox
        click.secho(
            "notifications not sent now: they wait in the outbox for the center's sender",
            fg="yellow",
            err=True,
        )


def operator_actor() -> Any:
    """The operator at this terminal, as the audit trail names them (``cli:<login>``)."""
    from certcenter.lifecycle.service import ActorRef

    return ActorRef.operator(f"cli:{getpass.getuser()}", None)
