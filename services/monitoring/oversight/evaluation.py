"""Annual evaluation 年度综合评价: transparent scoring of the oversight indicators, and a ranking.

Weights and point mappings come from the national profile's ``evaluation`` section (profile
defaults; no official text fixes them):

* commission compliance (40): share of the year's policies with commission ≤ 5% × 100 points;
* prevention spend (40): spent / collected premium against the 20% target, min(ratio / 20%, 1) × 100,
  and 0 points when above the 21% cap;
* fast-track on time (20): 100 − 20 per missed fast-track deadline, not below 0.

Ranking: total points descending; ties by the insurer's name ascending.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.profiles import get_profile
from contracts.profiles.schema import EvaluationRules
from services.monitoring.oversight import rules
from services.monitoring.oversight.handlers import fund_totals
from services.monitoring.oversight.models import OversightAlert, OversightFundEntry, OversightPolicy

HUNDRED = Decimal(100)


def scoring_rules(year: int) -> EvaluationRules:
    """The national profile's evaluation section in force at the end of ``year`` (its defaults before any profile)."""
    try:
        return get_profile(rules.HUB_JURISDICTION, date(year, 12, 31)).evaluation
    except Exception:  # no profile in force that year
        return EvaluationRules()


def weights(r: EvaluationRules) -> dict[str, int]:
    return {
        "commission_compliance": r.weight_commission_compliance,
        "prevention_spend": r.weight_prevention_spend,
        "fast_track_on_time": r.weight_fast_track_on_time,
    }


def _indicator(WEIGHTS: dict[str, int], name: str, value: Decimal | None, points: Decimal) -> dict:  # noqa: N803
    points = max(Decimal(0), min(HUNDRED, points)).quantize(rules.Q2)
    return {
        "indicator": name, "value": None if value is None else str(value), "points": str(points), "weight": WEIGHTS[name],
        "weighted": str((points * WEIGHTS[name] / HUNDRED).quantize(rules.Q2)),
    }


async def evaluate(session: AsyncSession, year: int) -> dict:
    profile_rules = scoring_rules(year)
    WEIGHTS = weights(profile_rules)  # noqa: N806
    insurers = set((await session.scalars(select(OversightPolicy.insurer).where(OversightPolicy.year == year).distinct())).all())
    insurers |= set((await session.scalars(select(OversightFundEntry.insurer).where(OversightFundEntry.year == year).distinct())).all())
    scores = []
    for insurer in sorted(insurers):
        policies = (await session.execute(
            select(OversightPolicy.premium, OversightPolicy.commission).where(OversightPolicy.insurer == insurer, OversightPolicy.year == year)
        )).all()
        lim = rules.year_limits(year)
        within = sum(1 for premium, commission in policies if not rules.commission_above_cap(premium, commission, lim.commission_cap))
        share = Decimal(within) / Decimal(len(policies)) if policies else Decimal(1)
        collected, _accrued, spent = await fund_totals(session, insurer, year)
        spend_ratio = rules.ratio(spent, collected)
        if spend_ratio is None:
            spend_points = Decimal(0)
        elif spent > collected * lim.spend_cap:
            spend_points = Decimal(0)
        else:
            spend_points = min(Decimal(1), spent / (collected * lim.spend_target)) * HUNDRED
        missed = await session.scalar(
            select(func.count()).select_from(OversightAlert).where(
                OversightAlert.insurer == insurer, OversightAlert.kind == "FAST_TRACK_MISSED",
                func.extract("year", OversightAlert.raised_at) == year,
            )
        ) or 0
        indicators = [
            _indicator(WEIGHTS, "commission_compliance", share.quantize(rules.Q4), share * HUNDRED),
            _indicator(WEIGHTS, "prevention_spend", spend_ratio, spend_points),
            _indicator(WEIGHTS, "fast_track_on_time", Decimal(missed), HUNDRED - profile_rules.fast_track_points_per_miss * Decimal(missed)),
        ]
        total = sum(Decimal(i["weighted"]) for i in indicators)
        scores.append({"insurer": insurer, "total": str(total), "indicators": indicators})
    scores.sort(key=lambda s: (-Decimal(s["total"]), s["insurer"]))
    for rank, s in enumerate(scores, 1):
        s["rank"] = rank
    return {"year": year, "weights": WEIGHTS, "scores": scores, "ranking": [s["insurer"] for s in scores]}
