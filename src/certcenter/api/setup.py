"""Puts the ``/v1`` API, the simulators' ``/sim`` views and the problem-document error
handlers onto the app (:func:`certcenter.server.create_app` calls ``install``).

    app = FastAPI()
    app.state.center = center
    install(app)
"""

from __future__ import annotations

from fastapi import FastAPI

from certcenter.api import contract, errors
from certcenter.api.routes import (
    approvals,
    certificate_copies,
    certificates,
    cmp,
    diagnosis,
    enrollments,
    financial,
    financial_issuance,
    joint,
    joint_usage,
    lifecycle,
    oidc,
    operator,
    otp,
    overseas_access,
    security_cards,
    sim_gov24,
    simulators,
    status,
    tsa,
    usage,
)
from certcenter.bootstrap import Center


def install(app: FastAPI) -> None:
    """The error handlers, every API router (the simulators' only where they are on) and the
    OpenAPI document that declares each operation's refusals and credentials."""
    center: Center = app.state.center
    errors.install(app)
    contract.install(app)
    app.include_router(enrollments.router)
    app.include_router(certificates.router)
    app.include_router(lifecycle.router)
    app.include_router(overseas_access.router)
    app.include_router(certificate_copies.router)
    app.include_router(usage.router)
    app.include_router(operator.router)
    app.include_router(diagnosis.router)
    app.include_router(otp.router)
    app.include_router(security_cards.router)
    app.include_router(financial_issuance.router)
    app.include_router(financial.router)
    app.include_router(joint.router)
    app.include_router(joint_usage.router)
    app.include_router(approvals.router)
    app.include_router(status.router)
    app.include_router(cmp.router)
    app.include_router(tsa.router)
    app.include_router(oidc.router)
    if center.settings.sims_enabled:  # 정부24 (데모): a site that logs in through the center
        app.include_router(sim_gov24.router)
    app.include_router(simulators.router if center.settings.sims_enabled else simulators.disabled)
