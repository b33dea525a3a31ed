"""Configuration: typed settings parsed once from the environment, failing loudly."""

from __future__ import annotations

import functools
import os
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class Settings(BaseModel):
    """Every variable the app reads. Resource names have no defaults: a missing one fails fast."""

    model_config = ConfigDict(frozen=True, populate_by_name=True, extra="ignore")

    stage: Literal["local", "dev", "prod", "test"] = Field(alias="STAGE")
    invoices_table_name: str = Field(alias="INVOICES_TABLE_NAME", min_length=1)
    customers_table_name: str = Field(alias="CUSTOMERS_TABLE_NAME", min_length=1)
    timeline_table_name: str = Field(alias="TIMELINE_TABLE_NAME", min_length=1)
    records_table_name: str = Field(alias="RECORDS_TABLE_NAME", min_length=1)
    invoice_bucket_name: str = Field(alias="INVOICE_BUCKET_NAME", min_length=1)
    actions_queue_url: str = Field(alias="ACTIONS_QUEUE_URL", min_length=1)
    ses_configuration_set: str = Field(alias="SES_CONFIGURATION_SET", min_length=1)
    email_from_address: str = Field(alias="EMAIL_FROM_ADDRESS", min_length=3)
    public_base_url: str = Field(alias="PUBLIC_BASE_URL", min_length=1)
    # "env": RELANCE_SECRET_* variables (local stage only); "ssm": Parameter Store.
    secrets_source: Literal["env", "ssm"] = Field(alias="SECRETS_SOURCE")
    secrets_prefix: str = Field(alias="SECRETS_PREFIX", default="/relance/")
    sms_sender_id: str = Field(alias="SMS_SENDER_ID", default="RELANCE", max_length=11)
    seller_name: str = Field(alias="SELLER_NAME", default="Relance demo seller")
    seller_email: str = Field(alias="SELLER_EMAIL", default="")
    seller_phone: str = Field(alias="SELLER_PHONE", default="")
    # Shown on the pay page for invoices whose file carries no IBAN of their own.
    seller_iban: str = Field(alias="SELLER_IBAN", default="", max_length=42)
    due_index_shards: int = Field(alias="DUE_INDEX_SHARDS", default=16, ge=1, le=256)
    max_upload_bytes: int = Field(alias="MAX_UPLOAD_BYTES", default=50_000_000, ge=1)
    message_retention_days: int = Field(alias="MESSAGE_RETENTION_DAYS", default=400, ge=1)
    log_level: str = Field(alias="LOG_LEVEL", default="INFO")
    # "stripe" shows a card button on the pay page (needs the `stripe_api_key` secret).
    card_payments: Literal["off", "stripe"] = Field(alias="CARD_PAYMENTS", default="off")
    stripe_api_base: str = Field(alias="STRIPE_API_BASE", default="https://api.stripe.com")


@functools.cache
def get_settings() -> Settings:
    """Parse the environment once; the pydantic error names every missing variable."""
    return Settings.model_validate(dict(os.environ))


def reset_settings_cache() -> None:
    """Forget parsed settings (tests and the local stack change the environment)."""
    get_settings.cache_clear()
