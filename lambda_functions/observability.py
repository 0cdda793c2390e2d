"""Structured logs, traces and metrics: made once here, applied to every Lambda entry the same way.

Powertools' Logger, Tracer and Metrics share their state across instances in one process (the
metric set, the tracing provider, the service's logger), so one of each for every function is what
each handler module used to make on its own; the metrics namespace is named once.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit

METRICS_NAMESPACE = "OptionsStrategyPlatform"

logger = Logger()
# The functions reach nothing but AWS, through botocore: X-Ray's patch_all would also import and
# patch every other library it knows that is installed (requests, sqlite3, http.client...) at each
# cold start, for calls these functions never make.
tracer = Tracer(patch_modules=("botocore",))
metrics = Metrics(namespace=METRICS_NAMESPACE)

# Reads add no business metric; Powertools would warn about that on every one of them.
warnings.filterwarnings("ignore", message="No application metrics to publish")

LambdaHandler = Callable[[Any, Any], Any]


def observed(
    *, correlation_id_path: str | None = None, publish_metrics: bool = True
) -> Callable[[LambdaHandler], LambdaHandler]:
    """The Lambda entry with its context in every log line (correlated by `correlation_id_path`
    where the event has one), a trace of the invocation and, unless a function adds no metrics,
    the metrics it added flushed as one EMF record at the end."""

    def decorate(handler: LambdaHandler) -> LambdaHandler:
        entry = metrics.log_metrics(handler) if publish_metrics else handler
        entry = tracer.capture_lambda_handler(entry)
        return logger.inject_lambda_context(entry, correlation_id_path=correlation_id_path)

    return decorate


def count(name: str, value: float = 1) -> None:
    """A business count, in the one namespace."""
    metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)
