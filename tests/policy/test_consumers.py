"""The experience handlers keep the latest state per accident and hazard, whatever the arrival order."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from contracts.events.claims import AccidentReported
from contracts.events.envelope import build_cloudevent
from contracts.events.prevention import HazardStatusChanged
from kernel.database import create_engine, create_sessionmaker
from services.policy.consumers import on_accident_reported, on_hazard_status_changed
from services.policy.models import AccidentExperience, HazardExperience
from tests.support.factories import credit_code

T0 = datetime(2027, 5, 3, 1, 0, tzinfo=UTC)


def _accident(grade: str, deaths: int, at: datetime) -> dict:
    payload = AccidentReported(accident_id="ACC-1", credit_code=credit_code(1), occurred_at=T0, grade=grade, deaths=deaths)
    return build_cloudevent(payload, subject="accidents/ACC-1", partition_key=credit_code(1), time=at)


def _hazard(status: str, at: datetime) -> dict:
    payload = HazardStatusChanged(hazard_id="HZ-1", credit_code=credit_code(1), status=status, changed_at=at)
    return build_cloudevent(payload, subject="hazards/HZ-1", partition_key=credit_code(1), time=at)


async def test_a_revised_accident_regrades_and_a_late_older_report_changes_nothing(sqlite_databases):
    engine = create_engine(await sqlite_databases.create("policy"))
    sessions = create_sessionmaker(engine)
    try:
        for envelope in (_accident("GENERAL", 2, T0), _accident("LARGER", 3, T0 + timedelta(days=2)), _accident("GENERAL", 2, T0 + timedelta(days=1))):
            async with sessions() as session, session.begin():
                await on_accident_reported(session, envelope)
        for envelope in (_hazard("OVERDUE", T0), _hazard("RECTIFIED", T0 + timedelta(days=5)), _hazard("OPEN", T0 - timedelta(days=1))):
            async with sessions() as session, session.begin():
                await on_hazard_status_changed(session, envelope)
        async with sessions() as session:
            accident = (await session.execute(select(AccidentExperience))).scalar_one()
            hazard = (await session.execute(select(HazardExperience))).scalar_one()
        assert (accident.grade, accident.deaths) == ("LARGER", 3)
        assert hazard.status == "RECTIFIED"
    finally:
        await engine.dispose()
