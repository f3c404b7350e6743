"""``certcenter app approve CODE`` and ``certcenter sim departures``.

certcenter app approve 48213907        # the code the browser shows: log in there, or add the
                                       # mobile certificate as the financial certificate's medium
certcenter sim departures              # who is abroad (해외출국확인 reads these records)
certcenter sim departures --depart C001 --country JP
certcenter sim departures --return C014
"""

from __future__ import annotations

from pathlib import Path

import click

from certcenter.cli.app_session import logged_in_client
from certcenter.cli.client import CenterClient
from certcenter.cli.common import handle_errors, keystore_option, language, url_option

PURPOSES = {
    "web-login": ("웹 로그인", "web login"),
    "oidc-login": (
        "다른 사이트 로그인 (OpenID Connect)",
        "log in to another site (OpenID Connect)",
    ),
    "financial-issuance": ("금융인증서 발급 추가인증", "financial certificate issuance"),
    "financial-device": ("금융인증서 이용 기기 등록 추가인증", "financial certificate: new device"),
    "financial-pin-reset": (
        "금융인증서 비밀번호 재설정 추가인증",
        "financial certificate: PIN reset",
    ),
}


@click.command("approve")
@keystore_option
@url_option
@click.argument("code")
@handle_errors
def app_approve(keystore: Path, url: str, code: str) -> None:
    """앱으로 승인: approve the code shown in the browser with this app's mobile certificate
    (logs in first when needed: the PIN is asked)."""
    with logged_in_client(keystore, url, lang=language()) as client:
        done = client.call("POST", "/v1/approvals/approve", {"code": code})
    words = PURPOSES.get(done["purpose"], (done["purpose"], done["purpose"]))
    click.echo(f"승인 완료 / approved: {words[0]} ({words[1]})")
    click.echo("브라우저 화면으로 돌아가 계속하세요 / continue in the browser")


@click.command("departures")
@click.option("--depart", "depart_key", metavar="KEY", help="This person leaves today (C001).")
@click.option("--country", default="US", show_default=True, help="Where to (ISO 3166, 2 letters).")
@click.option("--return", "return_key", metavar="KEY", help="This person comes back today.")
@url_option
@handle_errors
def sim_departures(depart_key: str | None, country: str, return_key: str | None, url: str) -> None:
    """출입국 기록: the departure records the departure check reads (newest first)."""
    with CenterClient(url, locale=language()) as client:
        if depart_key:
            client.call("POST", f"/sim/departures/{depart_key}", {"country": country})
        if return_key:
            client.call("POST", f"/sim/departures/{return_key}/return")
        records = client.call("GET", "/sim/departures")
    if not records:
        click.echo("(no departure records)")
    for r in records:
        where = "해외 체류 중 abroad" if r["abroad"] else f"귀국 back {r['returned_on'] or '-'}"
        click.echo(f"{r['name']:6} {r['country']}  출국 {r['departed_on']}  {where}")
