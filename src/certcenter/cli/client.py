"""An HTTP client for the center's ``/v1`` API and the ``/sim`` views, as the app uses them.

client = CenterClient("http://127.0.0.1:8000")
client.start(device, move_certificate=False)
client.step("terms", {"accepted": client.required_terms})
"""

from __future__ import annotations

import re
from typing import Any

import httpx

from certcenter.cli.api_error import ApiError
from certcenter.cli.keystore import DeviceInfo

__all__ = ["ApiError", "CenterClient"]


class CenterClient:
    def __init__(
        self,
        base_url: str,
        *,
        forwarded_for: str | None = None,
        timeout: float = 30.0,
        locale: str = "ko",
    ) -> None:
        headers = {"Accept-Language": locale}
        if forwarded_for:
            headers["X-Forwarded-For"] = forwarded_for
        self.http = httpx.Client(base_url=base_url.rstrip("/"), timeout=timeout, headers=headers)
        self.enrollment_id: str | None = None
        self.token: str | None = None
        self.required_terms: list[str] = []

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> CenterClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def pkixcmp(self, der: bytes, path: str = "/cmp") -> bytes:
        """POST one DER PKIMessage to the CMP server (RFC 6712) and return the PKIMessage
        it answers (every CMP answer, refusals included, is ``application/pkixcmp``); any
        other answer is the center's problem document, raised as :class:`ApiError`."""
        try:
            response = self.http.post(
                path, content=der, headers={"Content-Type": "application/pkixcmp"}
            )
        except httpx.TransportError as exc:
            raise _unreachable(exc) from None
        if response.headers.get("content-type", "").startswith("application/pkixcmp"):
            return response.content
        try:
            problem = response.json()
        except ValueError:
            problem = {"code": "HTTP_ERROR", "message": {"en": response.text[:200]}}
        raise ApiError(response.status_code, problem)

    def _send(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        *,
        extra_headers: dict[str, str] | None = None,
    ) -> Any:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        headers.update(extra_headers or {})
        try:
            response = self.http.request(method, path, json=body, headers=headers)
        except httpx.TransportError as exc:
            raise _unreachable(exc) from None
        if response.status_code >= 400:
            try:
                problem = response.json()
            except ValueError:
                problem = {"code": "HTTP_ERROR", "message": {"en": response.text[:200]}}
            raise ApiError(response.status_code, problem)
        return response.json() if response.content else None

    def download(self, path: str) -> bytes:
        """GET a file the center serves (evidence, a CRL) as bytes, with the bearer token."""
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        try:
            response = self.http.get(path, headers=headers)
        except httpx.TransportError as exc:
            raise _unreachable(exc) from None
        if response.status_code >= 400:
            try:
                problem = response.json()
            except ValueError:
                problem = {"code": "HTTP_ERROR", "message": {"en": response.text[:200]}}
            raise ApiError(response.status_code, problem)
        return response.content

    def call(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        *,
        idempotency_key: str | None = None,
    ) -> Any:
        """Any API call, with the client's bearer token (a flow's, or a login session's);
        with ``idempotency_key``, sent once more with the same key if the center could not
        be reached (its answer, if the request had arrived, is the first one's)."""
        if idempotency_key is None:
            return self._send(method, path, body)
        headers = {"Idempotency-Key": idempotency_key}
        try:
            return self._send(method, path, body, extra_headers=headers)
        except ApiError as err:
            if err.code != "CENTER_UNREACHABLE":
                raise
        return self._send(method, path, body, extra_headers=headers)

    # -- the issuance flow
    def start(
        self,
        device: DeviceInfo,
        *,
        integrity: dict[str, Any] | None = None,
        move_certificate: bool = False,
        reissue: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        self.token = None
        result: dict[str, Any] = self._send(
            "POST",
            "/v1/enrollments",
            {
                "device": {
                    "device_id": device.device_id,
                    "platform": device.platform,
                    "model": device.model,
                    "app_version": device.app_version,
                    "integrity": integrity or {},
                },
                "move_certificate": move_certificate,
                **({"reissue": reissue} if reissue else {}),
            },
        )
        self.enrollment_id = result["enrollment_id"]
        self.token = result["token"]
        self.required_terms = list(result["detail"].get("required_terms", []))
        return result

    def reissue_proof(self, device_id: str, sign: Any, pin: str) -> dict[str, str]:
        """A signed 'reissue' challenge from the registered device, for a shortened start."""
        issued = self._send("POST", f"/v1/devices/{device_id}/challenges", {"purpose": "reissue"})
        return {
            "challenge": issued["challenge"],
            "signature": sign(issued["sign"].encode("utf-8")),
            "pin": pin,
        }

    def step(self, step: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        if self.enrollment_id is None:
            raise RuntimeError("start() first")
        path = f"/v1/enrollments/{self.enrollment_id}/{step}"
        result: dict[str, Any] = self._send("POST", path, body or {})
        return result

    def status(self) -> dict[str, Any]:
        result: dict[str, Any] = self._send("GET", f"/v1/enrollments/{self.enrollment_id}")
        return result

    def certificate(self, serial: str) -> dict[str, Any]:
        result: dict[str, Any] = self._send("GET", f"/v1/certificates/{serial}")
        return result

    # -- lifecycle actions, authorised by the device's signature and the PIN
    def device_action(
        self,
        device_id: str,
        purpose: str,
        sign: Any,
        pin: str,
        path: str,
        extra: dict[str, Any] | None = None,
        *,
        send_device_id: bool = True,
    ) -> Any:
        """Get a challenge for ``purpose``, have ``sign(text)`` sign it, POST the proof."""
        issued = self._send("POST", f"/v1/devices/{device_id}/challenges", {"purpose": purpose})
        body: dict[str, Any] = {
            "challenge": issued["challenge"],
            "signature": sign(issued["sign"].encode("utf-8")),
            "pin": pin,
            **(extra or {}),
        }
        if send_device_id:
            body["device_id"] = device_id
        return self._send("POST", path, body)

    def lost_phone(self, *, carrier: str, name: str, rrn_front: str, phone: str) -> Any:
        """분실 신고 접수: ``{"report_id", "expires_at", "media"}`` (nothing suspended yet)."""
        return self._send(
            "POST",
            "/v1/lost-phone-reports",
            {"carrier": carrier, "name": name, "rrn_front": rrn_front, "phone": phone},
        )

    def lost_phone_card(self, report_id: str) -> Any:
        return self._send("POST", f"/v1/lost-phone-reports/{report_id}/security-card", {})

    def lost_phone_confirm(self, report_id: str, medium: str, **answer: str) -> Any:
        """추가 인증 with ``medium`` (account, otp, security_card): the suspended outcomes."""
        return self._send(
            "POST", f"/v1/lost-phone-reports/{report_id}/confirm", {"medium": medium, **answer}
        )

    def lost_phone_undo(self, report_id: str, code: str) -> Any:
        return self._send("POST", f"/v1/lost-phone-reports/{report_id}/undo", {"code": code})

    # -- the demo world's other side
    def people(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self._send("GET", "/sim/api/people")
        return result

    def messages(self, phone: str) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self._send("GET", f"/sim/api/phones/{phone}/messages")
        return result

    def statement(self, bank_code: str, account_number: str) -> dict[str, Any]:
        path = f"/sim/api/banks/{bank_code}/accounts/{account_number}/statement"
        result: dict[str, Any] = self._send("GET", path)
        return result

    def set_account_status(self, bank_code: str, account_number: str, status: str) -> None:
        path = f"/sim/api/banks/{bank_code}/accounts/{account_number}/status"
        self._send("PUT", path, {"status": status})

    def set_line(self, phone: str, **values: bool) -> dict[str, Any]:
        result: dict[str, Any] = self._send("PATCH", f"/sim/api/phones/{phone}", values)
        return result

    def latest_sms_code(self, phone: str) -> str | None:
        """The newest 6-digit code in the phone's messages (inbox or spam)."""
        for message in self.messages(phone):
            match = re.search(r"\[(\d{6})\]", message["body"])
            if match:
                return match.group(1)
        return None

    def latest_deposit_code(self, bank_code: str, account_number: str) -> str | None:
        """The code in the newest 1-won deposit's depositor name (인증1234)."""
        for entry in self.statement(bank_code, account_number)["entries"]:
            match = re.fullmatch(r"인증(\d+)", entry["description"])
            if match and entry["amount"] == 1:
                return match.group(1)
        return None


def _unreachable(exc: httpx.TransportError) -> ApiError:
    return ApiError(
        0,
        {
            "code": "CENTER_UNREACHABLE",
            "message": {
                "ko": "인증센터에 연결할 수 없습니다.",
                "en": "Cannot reach the certificate center.",
            },
            "cause": {"ko": str(exc), "en": str(exc)},
            "remedy": {
                "ko": "certcenter serve 가 실행 중인지, 주소가 맞는지 확인하세요.",
                "en": "Check that certcenter serve is running at that address.",
            },
        },
    )
