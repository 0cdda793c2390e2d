"""Starting the day's master timer exactly once.

Naming the execution by the IST trading date makes a repeated start harmless: while the day's timer
runs, Step Functions answers a start with the same name and input with that same execution; after
it has ended, with ExecutionAlreadyExists.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from shared_utils.domain.clock import ist_date


def timer_execution_name(moment: datetime) -> str:
    return f"master-timer-{ist_date(moment).isoformat()}"


def start_master_timer(
    stepfunctions: Any, state_machine_arn: str, moment: datetime
) -> dict[str, Any]:
    name = timer_execution_name(moment)
    trading_date = ist_date(moment).isoformat()
    try:
        response = stepfunctions.start_execution(
            stateMachineArn=state_machine_arn,
            name=name,
            input=json.dumps({"trading_date": trading_date, "next_tick": None}),
        )
    except ClientError as error:
        if error.response["Error"]["Code"] != "ExecutionAlreadyExists":
            raise
        return {
            "running": False,
            "execution_name": name,
            "trading_date": trading_date,
            "reason": "today's timer has already run",
        }
    return {
        "running": True,
        "execution_name": name,
        "trading_date": trading_date,
        "execution_arn": response["executionArn"],
    }
