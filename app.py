"""Chalice application: registration only (middleware and blueprints)."""

from __future__ import annotations

from chalice.app import Chalice, ConvertToMiddleware

from chalicelib.entrypoints import (
    admin_api,
    admin_collections,
    admin_customers,
    admin_dunning,
    admin_gdpr,
    admin_messages,
    admin_reports,
    channel_events,
    invoice_uploads,
    pay_pages,
    payment_webhooks,
    schedules,
    system,
)
from chalicelib.observability import logger, metrics

app = Chalice(app_name="relance")
app.register_middleware(ConvertToMiddleware(logger.inject_lambda_context))
app.register_middleware(ConvertToMiddleware(metrics.log_metrics))

app.register_blueprint(system.bp)
app.register_blueprint(admin_api.bp)
app.register_blueprint(admin_dunning.bp)
app.register_blueprint(admin_collections.bp)
app.register_blueprint(admin_customers.bp)
app.register_blueprint(admin_reports.bp)
app.register_blueprint(admin_gdpr.bp)
app.register_blueprint(invoice_uploads.bp)
app.register_blueprint(schedules.bp)
app.register_blueprint(channel_events.bp)
app.register_blueprint(admin_messages.bp)
app.register_blueprint(payment_webhooks.bp)
app.register_blueprint(pay_pages.bp)
