"""Fixtures shared by every layer of tests. No test reaches the network: AWS is moto."""

import os

# Before anything imports boto3 or Powertools: fake credentials, no metrics or traces leave the process.
os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "ap-south-1",
        "POWERTOOLS_SERVICE_NAME": "options-strategy-platform-tests",
        "POWERTOOLS_METRICS_DISABLED": "true",
        "POWERTOOLS_TRACE_DISABLED": "true",
        # INFO, as in AWS: a log call that breaks at INFO (an `extra` key LogRecord owns) must fail here.
        "POWERTOOLS_LOG_LEVEL": "INFO",
    }
)
os.environ.pop("AWS_ENDPOINT_URL", None)

import threading
from datetime import datetime

import boto3
import pytest
from moto import mock_aws

from local_platform.wiring import create_table
from shared_utils.adapters.dynamodb.configuration_store import DynamoConfigurationStore
from shared_utils.adapters.dynamodb.repository import ConfigurationRepository
from shared_utils.configuration.plane import ConfigurationPlane
from shared_utils.domain.clock import IST, FixedClock

TABLE_NAME = "test-trading-configurations"
MONDAY_BEFORE_OPEN = datetime(2026, 3, 2, 9, 25, tzinfo=IST)


@pytest.fixture
def dynamodb():
    with mock_aws():
        client = boto3.client("dynamodb", region_name="ap-south-1")
        create_table(client, TABLE_NAME)
        yield client


@pytest.fixture
def clock():
    return FixedClock(MONDAY_BEFORE_OPEN)


class OneRequestAtATime:
    """DynamoDB applies each request atomically. Moto's in-process backend does not when threads
    share it: a transaction deep-copies the table while another thread writes it, and its rollback
    restores that copy. Through this wrapper requests run one at a time, as each one does in DynamoDB,
    so tests of concurrent executors test our conditions, not moto's thread safety."""

    def __init__(self, client):
        self._client, self._lock = client, threading.Lock()

    def __getattr__(self, name):
        attribute = getattr(self._client, name)
        if not callable(attribute):
            return attribute

        def one_at_a_time(*args, **kwargs):
            with self._lock:
                return attribute(*args, **kwargs)

        return one_at_a_time


@pytest.fixture
def repository(dynamodb):
    return ConfigurationRepository(OneRequestAtATime(dynamodb), TABLE_NAME)


@pytest.fixture
def service(repository, clock):
    """The configuration plane over the test table: `service.strategies.create(...)` and so on."""
    return ConfigurationPlane.build(DynamoConfigurationStore(repository), clock)


def all_items(client, table_name=TABLE_NAME):
    items, request = [], {"TableName": table_name}
    while True:
        page = client.scan(**request)
        items += page["Items"]
        if "LastEvaluatedKey" not in page:
            return items
        request["ExclusiveStartKey"] = page["LastEvaluatedKey"]
