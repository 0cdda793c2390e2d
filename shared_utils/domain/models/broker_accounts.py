"""Broker accounts: the trader's accounts at brokers, PAPER unless LIVE is asked for."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from pydantic import BeforeValidator, ConfigDict, Field

from shared_utils.domain.enums import AccountMode, BrokerName
from shared_utils.domain.models.base import (
    ApiModel,
    ClientId,
    PositiveMoney,
    StoredModel,
    Timestamp,
    upper,
)


class BrokerAccountCreate(ApiModel):
    client_id: ClientId
    broker: Annotated[BrokerName, BeforeValidator(upper)]
    mode: Annotated[AccountMode, BeforeValidator(upper)] = Field(
        AccountMode.PAPER, description="PAPER unless LIVE is asked for explicitly"
    )
    display_name: Annotated[str, Field(max_length=100)] | None = None
    paper_funds: PositiveMoney = Field(
        Decimal("1000000"),
        description="Funds of a PAPER account in rupees, against which margin utilization is measured",
    )


class BrokerAccount(BrokerAccountCreate, StoredModel):
    model_config = ConfigDict(extra="ignore")
    created_at: Timestamp
    updated_at: Timestamp
    version: int = 1
