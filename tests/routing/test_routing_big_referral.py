"""The largest referral the contract allows, through the routing processor and the case view:
its content row is written under the producer's limit (it crash-looped routing at 1,020,876
bytes), and a reviewer is told which reports are shortened and how long they were."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
from aiokafka.record.default_records import DefaultRecordBatchBuilder

from schemas.topics import MAX_RECORD_BYTES
from services.routing.api import create_api
from services.routing.casedata import CaseData
from tests.routing.fakes import Clock, InProcessGateway, make_processor
from tests.routing.test_routing_reviews_api import auth
from tests.support.big_referral import big_received
from tests.unit.routing.builders import context, specialist, triaged


async def test_the_largest_referral_is_written_under_the_limit_and_shown_as_shortened() -> None:
    processor, _, _ = make_processor(Clock(datetime.now(UTC)))
    written: dict[bytes, bytes] = {}
    processor.casedata = CaseData(content=written, reports={},
                                  write_content=lambda key, raw, _: written.update({key: raw}))
    processor.directory.put(specialist("a"))
    await processor.on_case_input(big_received("case-1"))
    await processor.on_case_input(triaged("case-1", ctx=context(patient_pseudonym="p-1")))
    assert processor.casedata.flush() == 1
    # What faust's producer checks (aiokafka's estimate of the record) against its limit.
    record = DefaultRecordBatchBuilder.estimate_size_in_bytes(b"case-1", written[b"case-1"], [])
    assert record <= MAX_RECORD_BYTES

    client = httpx.AsyncClient(transport=httpx.ASGITransport(
        app=create_api(InProcessGateway(processor))), base_url="http://routing")
    async with client:
        view = (await client.get("/cases/case-1/review", headers=auth("ops", "ops-1"))).json()
    assert len(view["imaging"]) == 50
    assert all(i["report_text_truncated"] and i["report_text_chars"] == 19_500
               and len(i["report_text"]) < 19_500 for i in view["imaging"])
    assert {c["field"] for c in view["truncated"]} == {
        f"imaging[{i}].report_text" for i in range(50)}
