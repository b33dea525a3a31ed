"""Observability: the Powertools logger and metrics shared by every entry point."""

from __future__ import annotations

import logging

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers

SERVICE_NAME = "relance"

logger = Logger(service=SERVICE_NAME, log_uncaught_exceptions=True)
metrics = Metrics(namespace="Relance", service=SERVICE_NAME)

# Services log with the stdlib under "chalicelib"; children propagate to this configured parent.
logging.getLogger("chalicelib")
copy_config_to_registered_loggers(source_logger=logger, include={"chalicelib"})
