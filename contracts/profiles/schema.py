"""Jurisdiction rule profiles 地区规则配置: the numbers regulators set, as frozen, versioned data.

A :class:`JurisdictionProfile` is one resolved rule set (national 全国, Beijing 北京, Yunnan 云南,
…) valid over an effective window. Every value arrives from a TOML file under ``data/`` and
carries its provenance: a named source (``"Measures 2025 Art. 15"``) or the marker
``"profile default"`` for numbers no official text fixes (see ``domain.md``).

The methods here are pure rules over plain values (no I/O), so every service computes a
minimum limit, an accident grade or a prevention-fund cap the same way.

Rounding: amounts derived from a ratio are rounded once, to the fen 分, half up
(:func:`round_money`); comparisons against a cap use the exact, unrounded product.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from contracts.enums import Industry

PROFILE_DEFAULT = "profile default"
"""Provenance marker for a value no official text fixes (domain.md: *profile default*)."""

MONEY_QUANTUM = Decimal("0.01")

Money = Annotated[Decimal, Field(ge=0)]
Ratio = Annotated[Decimal, Field(ge=0, le=1)]
Days = Annotated[int, Field(ge=0)]


def round_money(amount: Decimal) -> Decimal:
    """Round an amount to the fen 分, half up: the one rounding rule for profile-derived money."""
    return amount.quantize(MONEY_QUANTUM, rounding=ROUND_HALF_UP)


class IncomeFigureMissing(LookupError):
    """No urban disposable income figure usable for a policy year (Beijing minimum limit)."""


class _Rules(BaseModel):
    # extra="forbid" turns a misspelt TOML key into a load error instead of a silent default.
    model_config = ConfigDict(frozen=True, extra="forbid")


class SourceDocument(_Rules):
    """A document that numbers in a profile cite, keyed in the profile by its short name."""

    title: str
    document_no: str | None = None  # 文号, e.g. 应急〔2025〕27号
    url: str | None = None


# --- 1. who must insure --------------------------------------------------------------------


class CoverageRules(_Rules):
    """Who must insure 应保尽保范围 and how employees are covered."""

    mandatory_industries: tuple[Industry, ...]  # 高危行业领域, must insure
    encouraged_industries: tuple[Industry, ...]  # 鼓励投保
    uniform_employee_limit: bool  # one insured amount for every employee 从业人员, incl. temporary and dispatched

    @model_validator(mode="after")
    def _disjoint(self) -> CoverageRules:
        both = set(self.mandatory_industries) & set(self.encouraged_industries)
        if both:
            raise ValueError(f"industries both mandatory and encouraged: {sorted(both)}")
        if len(set(self.mandatory_industries)) != len(self.mandatory_industries):
            raise ValueError("mandatory_industries lists an industry twice")
        return self

    def must_insure(self, industry: Industry) -> bool:
        return industry in self.mandatory_industries

    def encourages(self, industry: Industry) -> bool:
        return industry in self.encouraged_industries


# --- 2. limits -----------------------------------------------------------------------------


class IncomeFigures(_Rules):
    """One statistical year's urban per-capita disposable income 城镇居民人均可支配收入 (CNY)."""

    local: Money  # the jurisdiction's, e.g. Beijing
    national: Money  # the whole country's


class MinimumLimitBreakdown(_Rules):
    """How a minimum per-person death/disability limit 每人死亡伤残责任限额下限 was reached.

    APIs return this so a reader can follow the computation step by step.
    """

    policy_start: dt.date
    floor: Decimal  # national floor, never undercut
    income_year: int | None = None  # statistical year whose figures were used
    local_income: Decimal | None = None
    national_income: Decimal | None = None
    local_income_multiple: Decimal | None = None
    deduction_income_multiple: Decimal | None = None
    local_amount: Decimal | None = None  # multiple × local income
    deduction: Decimal | None = None  # work-injury lump-sum death benefit 一次性工亡补助金
    formula_amount: Decimal | None = None  # local_amount − deduction
    minimum: Decimal
    floor_applied: bool
    steps: tuple[str, ...]


class IncomeLinkedMinimum(_Rules):
    """A regional minimum tied to urban disposable income (Beijing draft part 2).

    minimum = local_income_multiple × local income − deduction_income_multiple × national income,
    the deduction read as the work-injury lump-sum death benefit 一次性工亡补助金 (Work-injury
    regulation Art. 39: 20 × the previous year's national urban per-capita disposable income).

    Which statistical year applies is not fixed by the draft, and the annual figures only appear
    around 20 January, so ``year_rule`` says it:

    - ``LATEST_BEFORE_POLICY_YEAR``: the previous calendar year's figure if the table has it,
      otherwise the latest year in the table that is earlier than the policy year;
    - ``PREVIOUS_YEAR_ONLY``: the previous calendar year's figure or :class:`IncomeFigureMissing`.
    """

    local_income_multiple: Decimal
    deduction_income_multiple: Decimal
    year_rule: Literal["LATEST_BEFORE_POLICY_YEAR", "PREVIOUS_YEAR_ONLY"]
    urban_disposable_income: dict[int, IncomeFigures]

    def income_year(self, policy_year: int) -> int:
        earlier = [year for year in self.urban_disposable_income if year < policy_year]
        if self.year_rule == "PREVIOUS_YEAR_ONLY":
            earlier = [year for year in earlier if year == policy_year - 1]
        if not earlier:
            raise IncomeFigureMissing(
                f"no urban disposable income figure before {policy_year} "
                f"(rule {self.year_rule}; years held: {sorted(self.urban_disposable_income)})"
            )
        return max(earlier)


class LimitRules(_Rules):
    """Per-person limits 每人责任限额: the minimum and the death/disability shares."""

    floor_per_person: Money  # 每人死亡伤残责任限额不低于, national 400,000 (Measures 2025 Art. 15)
    income_linked_minimum: IncomeLinkedMinimum | None = None
    death_ratio: Ratio  # share of the per-person limit paid for a death 死亡
    disability_grade_ratios: dict[int, Ratio]  # 伤残等级 1..10 → share of the per-person limit

    @model_validator(mode="after")
    def _grades_one_to_ten(self) -> LimitRules:
        if sorted(self.disability_grade_ratios) != list(range(1, 11)):
            raise ValueError("disability_grade_ratios must hold grades 1 to 10")
        shares = [self.disability_grade_ratios[g] for g in range(1, 11)]
        if any(a < b for a, b in zip(shares, shares[1:])):
            raise ValueError("a milder disability grade may not pay more than a graver one")
        return self

    def disability_ratio(self, grade: int) -> Decimal:
        """Share of the per-person limit for disability grade 1 (gravest) to 10."""
        if grade not in self.disability_grade_ratios:
            raise ValueError(f"disability grade must be 1..10, got {grade}")
        return self.disability_grade_ratios[grade]

    def minimum_breakdown(self, policy_start: dt.date) -> MinimumLimitBreakdown:
        floor = self.floor_per_person
        floor_step = f"national floor 全国下限 = {floor}"
        rule = self.income_linked_minimum
        if rule is None:
            return MinimumLimitBreakdown(
                policy_start=policy_start, floor=floor, minimum=floor, floor_applied=True,
                steps=(floor_step, f"minimum 最低限额 = {floor}"),
            )
        year = rule.income_year(policy_start.year)
        figures = rule.urban_disposable_income[year]
        local_amount = rule.local_income_multiple * figures.local
        deduction = rule.deduction_income_multiple * figures.national
        formula_amount = local_amount - deduction
        minimum = max(formula_amount, floor)
        return MinimumLimitBreakdown(
            policy_start=policy_start,
            floor=floor,
            income_year=year,
            local_income=figures.local,
            national_income=figures.national,
            local_income_multiple=rule.local_income_multiple,
            deduction_income_multiple=rule.deduction_income_multiple,
            local_amount=local_amount,
            deduction=deduction,
            formula_amount=formula_amount,
            minimum=minimum,
            floor_applied=formula_amount < floor,
            steps=(
                f"income year 统计年度 = {year} (policy starts {policy_start.isoformat()}, rule {rule.year_rule})",
                f"{rule.local_income_multiple} × {figures.local} (local urban per-capita disposable income "
                f"本地城镇居民人均可支配收入) = {local_amount}",
                f"{rule.deduction_income_multiple} × {figures.national} (work-injury lump-sum death benefit "
                f"一次性工亡补助金, national urban income) = {deduction}",
                f"{local_amount} − {deduction} = {formula_amount}",
                floor_step,
                f"minimum 最低限额 = max({formula_amount}, {floor}) = {minimum}",
            ),
        )

    def minimum_death_disability_limit(self, policy_start: dt.date) -> Decimal:
        return self.minimum_breakdown(policy_start).minimum


class SubLimitAmounts(_Rules):
    """Sub-limits 分项限额 of one policy, in CNY."""

    per_person: Decimal
    per_accident: Decimal  # 每次事故责任限额
    aggregate: Decimal  # 累计责任限额
    employee_medical_per_person: Decimal  # 每人医疗费用限额
    rescue: Decimal  # 事故应急救援费用限额
    legal: Decimal  # 法律费用限额


class SubLimitRules(_Rules):
    """How sub-limits derive from the per-person limit and the insured headcount."""

    per_accident: Literal["PER_PERSON_X_HEADCOUNT"]
    aggregate: Literal["PER_PERSON_X_HEADCOUNT"]
    employee_medical_ratio_of_per_person: Ratio
    rescue_ratio_of_aggregate: Ratio
    legal_ratio_of_aggregate: Ratio

    def amounts(self, per_person_limit: Decimal, headcount: int) -> SubLimitAmounts:
        if headcount < 1:
            raise ValueError("insured headcount must be at least 1")
        aggregate = per_person_limit * headcount
        return SubLimitAmounts(
            per_person=per_person_limit,
            per_accident=aggregate,
            aggregate=aggregate,
            employee_medical_per_person=round_money(per_person_limit * self.employee_medical_ratio_of_per_person),
            rescue=round_money(aggregate * self.rescue_ratio_of_aggregate),
            legal=round_money(aggregate * self.legal_ratio_of_aggregate),
        )


class PolicyTermRules(_Rules):
    """Policy period 保险期间 and renewal 续保.

    Dates are cover days: a policy's end date is its last day of cover (… 24时止), so a one-year
    policy starting 2025-01-01 ends 2025-12-31 and its renewal must start by 2026-01-01.
    """

    max_period_years: int = Field(ge=1)
    renewal_max_gap_days: Days  # renewal starts no later than previous end + this (Art. 16: no delay)

    def latest_end(self, start: dt.date) -> dt.date:
        """Last permissible cover day: one calendar year on, less a day (29 Feb → 28 Feb)."""
        try:
            anniversary = start.replace(year=start.year + self.max_period_years)
        except ValueError:  # 29 February into a common year: the year ends with 28 February
            anniversary = dt.date(start.year + self.max_period_years, 3, 1)
        return anniversary - dt.timedelta(days=1)

    def renewal_latest_start(self, previous_end: dt.date) -> dt.date:
        return previous_end + dt.timedelta(days=self.renewal_max_gap_days)

    def renewal_on_time(self, previous_end: dt.date, renewal_start: dt.date) -> bool:
        return renewal_start <= self.renewal_latest_start(previous_end)


# --- 3. rates and commission ---------------------------------------------------------------


class CostBand(_Rules):
    """One band of the construction project-cost table 工程造价分档费率."""

    upper: Money | None = None  # inclusive upper cost bound in CNY; None for the open top band
    rate_permille: Decimal = Field(gt=0)  # ‰ of the cost falling in the band


class ConstructionCostRating(_Rules):
    """Construction premium on project cost 按工程造价计费.

    ``PROGRESSIVE`` charges each band's rate on the part of the cost inside it (分段累进), so the
    premium never drops when the cost crosses a band edge; ``WHOLE_COST`` charges the whole cost
    at the rate of the band it falls in.
    """

    banding: Literal["PROGRESSIVE", "WHOLE_COST"]
    bands: dict[str, CostBand]

    @model_validator(mode="after")
    def _one_open_top_band(self) -> ConstructionCostRating:
        uppers = [band.upper for band in self.bands.values()]
        if uppers.count(None) != 1:
            raise ValueError("exactly one construction band must be open-topped")
        bounded = [u for u in uppers if u is not None]
        if len(set(bounded)) != len(bounded):
            raise ValueError("two construction bands share an upper bound")
        return self

    def ordered_bands(self) -> tuple[CostBand, ...]:
        return tuple(sorted(self.bands.values(), key=lambda b: (b.upper is None, b.upper or 0)))

    def base_premium(self, project_cost: Decimal) -> Decimal:
        if project_cost < 0:
            raise ValueError("project cost cannot be negative")
        bands = self.ordered_bands()
        if self.banding == "WHOLE_COST":
            band = next(b for b in bands if b.upper is None or project_cost <= b.upper)
            return round_money(project_cost * band.rate_permille / 1000)
        premium, lower = Decimal(0), Decimal(0)
        for band in bands:
            top = project_cost if band.upper is None else min(project_cost, band.upper)
            if top > lower:
                premium += (top - lower) * band.rate_permille / 1000
            if band.upper is None or project_cost <= band.upper:
                break
            lower = band.upper
        return round_money(premium)


class RatingRules(_Rules):
    """Rates 费率: base rates and the dynamic adjustment factors 费率浮动因素 (Measures 2025 Art. 13).

    ``factors`` are the factors the rules require an insurer to weigh; ``adjustments`` gives each
    factor's options as a share added to 1 (−0.10 → factor 0.90) and may hold extra factors
    (e.g. the Fuyang safety award). Each factor must stay within [factor_min, factor_max] and
    their product within [product_min, product_max].
    """

    factor_min: Decimal = Field(gt=0)
    factor_max: Decimal = Field(gt=0)
    product_min: Decimal = Field(gt=0)
    product_max: Decimal = Field(gt=0)
    factors: tuple[str, ...]
    adjustments: dict[str, dict[str, Decimal]]
    base_rates_permille: dict[Industry, Decimal]  # per insured person per year, ‰ of the per-person limit
    construction: ConstructionCostRating

    @model_validator(mode="after")
    def _factors_within_bounds(self) -> RatingRules:
        if not (self.factor_min <= 1 <= self.factor_max and self.product_min <= 1 <= self.product_max):
            raise ValueError("rating bounds must include 1")
        missing = [f for f in self.factors if f not in self.adjustments]
        if missing:
            raise ValueError(f"rating factors without adjustment options: {missing}")
        for code, options in self.adjustments.items():
            for option, share in options.items():
                if not self.factor_min <= 1 + share <= self.factor_max:
                    raise ValueError(f"rating factor {code}.{option} = {1 + share} outside the factor bounds")
        return self

    def factor(self, code: str, option: str) -> Decimal:
        try:
            return 1 + self.adjustments[code][option]
        except KeyError:
            raise KeyError(f"unknown rating factor option {code}.{option}") from None

    def combined_factor(self, choices: Mapping[str, str]) -> Decimal:
        """Product of the chosen factors, each clamped to its bounds, the product clamped too."""
        product = Decimal(1)
        for code, option in choices.items():
            product *= min(max(self.factor(code, option), self.factor_min), self.factor_max)
        return min(max(product, self.product_min), self.product_max)

    def base_premium_per_person(self, industry: Industry, per_person_limit: Decimal) -> Decimal:
        """Annual base premium for one insured person 每人年基准保费, before factors."""
        return round_money(per_person_limit * self.base_rates_permille[industry] / 1000)


class CommissionRules(_Rules):
    """Commission 手续费 on a high-risk unit's policy."""

    cap_ratio: Ratio  # ≤ 5% of premium (Measures 2025 Art. 14)

    def max_commission(self, premium: Decimal) -> Decimal:
        return round_money(premium * self.cap_ratio)

    def commission_allowed(self, premium: Decimal, commission: Decimal) -> bool:
        return Decimal(0) <= commission <= premium * self.cap_ratio


# --- 4. claims -----------------------------------------------------------------------------


class AccidentGrade(StrEnum):
    """Accident grade 事故等级 (Order 493 Art. 3), mildest first."""

    GENERAL = "GENERAL"  # 一般事故
    LARGER = "LARGER"  # 较大事故
    SERIOUS = "SERIOUS"  # 重大事故
    ESPECIALLY_SERIOUS = "ESPECIALLY_SERIOUS"  # 特别重大事故


class GradeThreshold(_Rules):
    """The lowest figures that reach a grade: "以上" includes the number."""

    deaths: int = Field(ge=1)
    serious_injuries: int = Field(ge=1)  # 重伤, incl. acute industrial poisoning
    direct_loss: Money  # 直接经济损失, CNY


class AccidentGradeThresholds(_Rules):
    larger: GradeThreshold
    serious: GradeThreshold
    especially_serious: GradeThreshold

    @model_validator(mode="after")
    def _ascending(self) -> AccidentGradeThresholds:
        for field in ("deaths", "serious_injuries", "direct_loss"):
            values = [getattr(t, field) for t in (self.larger, self.serious, self.especially_serious)]
            if not values[0] < values[1] < values[2]:
                raise ValueError(f"accident grade thresholds for {field} must ascend")
        return self

    def grade(self, deaths: int, serious_injuries: int, direct_loss: Decimal) -> AccidentGrade:
        return grade_accident(self, deaths, serious_injuries, direct_loss)


def grade_accident(
    thresholds: AccidentGradeThresholds, deaths: int, serious_injuries: int, direct_loss: Decimal
) -> AccidentGrade:
    """Grade an accident by the highest grade any one measure reaches (Order 493 Art. 3)."""
    if deaths < 0 or serious_injuries < 0 or direct_loss < 0:
        raise ValueError("casualty figures and loss cannot be negative")
    for grade, t in (
        (AccidentGrade.ESPECIALLY_SERIOUS, thresholds.especially_serious),
        (AccidentGrade.SERIOUS, thresholds.serious),
        (AccidentGrade.LARGER, thresholds.larger),
    ):
        if deaths >= t.deaths or serious_injuries >= t.serious_injuries or direct_loss >= t.direct_loss:
            return grade
    return AccidentGrade.GENERAL


class CasualtyRevisionRules(_Rules):
    """How long casualty figures may still change 伤亡人数补报 (Order 493), regrading the accident."""

    days: Days
    road_traffic_fire_days: Days  # 道路交通事故、火灾事故

    def deadline(self, occurred_on: dt.date, road_traffic_or_fire: bool = False) -> dt.date:
        return occurred_on + dt.timedelta(days=self.road_traffic_fire_days if road_traffic_or_fire else self.days)


class FastTrackRules(_Rules):
    """Quick claims and pre-payment 快赔/预赔 for major accidents.

    Applies when deaths reach ``death_threshold`` (≥) or, if ``major_social_impact`` is set, when
    the accident has major social impact 重大社会影响. The channel must start within
    ``clock_hours`` of the report: exactly at the deadline is on time, a second later is late.
    """

    death_threshold: int = Field(ge=1)
    major_social_impact: bool
    clock_hours: int = Field(ge=1)

    def applies(self, deaths: int, major_social_impact: bool = False) -> bool:
        return deaths >= self.death_threshold or (self.major_social_impact and major_social_impact)

    def deadline(self, reported_at: dt.datetime) -> dt.datetime:
        if reported_at.tzinfo is None:
            raise ValueError("reported_at must be timezone-aware")
        return reported_at + dt.timedelta(hours=self.clock_hours)

    def on_time(self, reported_at: dt.datetime, started_at: dt.datetime) -> bool:
        if started_at.tzinfo is None:
            raise ValueError("started_at must be timezone-aware")
        return started_at <= self.deadline(reported_at)


class ClaimHandlingRules(_Rules):
    """Claim deadlines when the contract is silent (Insurance Law), in days."""

    decide_within_days: Days  # 核定, complex cases
    pay_within_days_after_agreement: Days  # 达成协议后支付
    rejection_notice_within_days: Days  # 拒赔通知, from the decision
    prepay_if_unfixed_after_days: Days  # 先予支付, from complete claim documents


# --- 5. prevention -------------------------------------------------------------------------


class PreventionFundRules(_Rules):
    """Accident prevention spending 事故预防费用 out of premium actually collected 实际收取保费.

    ``carried_funds_count_toward_cap`` is a profile choice (no text fixes it): when false,
    money carried over from an earlier year was already inside that year's cap, so it may be
    spent on top of this year's cap; when true, all spending in a year shares that year's cap.
    """

    cap_ratio: Ratio  # ≤ 21% (Measures 2025 Art. 22)
    target_ratio: Ratio  # expected share, 20%
    target_deadline: dt.date | None = None  # last day by which the target must be reached
    carry_over_unused: bool  # 结余结转下年
    carried_funds_count_toward_cap: bool
    allowed_expenses: tuple[str, ...]
    forbidden_expenses: tuple[str, ...]  # e.g. BUSINESS_PROMOTION 业务推广

    @model_validator(mode="after")
    def _consistent(self) -> PreventionFundRules:
        if self.target_ratio > self.cap_ratio:
            raise ValueError("prevention target above the cap")
        both = set(self.allowed_expenses) & set(self.forbidden_expenses)
        if both:
            raise ValueError(f"expense categories both allowed and forbidden: {sorted(both)}")
        return self

    def cap_amount(self, collected_premium: Decimal) -> Decimal:
        return round_money(collected_premium * self.cap_ratio)

    def target_amount(self, collected_premium: Decimal) -> Decimal:
        return round_money(collected_premium * self.target_ratio)

    def target_binding_for_year(self, year: int) -> bool:
        """Whether a year's spending is held to the target (before the deadline it is a goal)."""
        return self.target_deadline is None or year >= self.target_deadline.year

    def carry_over(self, collected_premium: Decimal, spent: Decimal) -> Decimal:
        """Unspent target money carried into the next year (0 where carrying is not the rule)."""
        if not self.carry_over_unused:
            return Decimal(0)
        return max(self.target_amount(collected_premium) - spent, Decimal(0))

    def spending_limit(self, collected_premium: Decimal, carried_in: Decimal = Decimal(0)) -> Decimal:
        """Most a year may spend, counting money carried in from the year before."""
        cap = self.cap_amount(collected_premium)
        return cap if self.carried_funds_count_toward_cap else cap + carried_in

    def expense_allowed(self, category: str) -> bool:
        return category in self.allowed_expenses and category not in self.forbidden_expenses


class ServiceInstitutionRules(_Rules):
    """Technical service institutions 技术服务机构 and their records (AQ 9010-2019)."""

    min_professional_staff: int | None = None  # 专业技术人员, None where no minimum is set
    min_evaluations_per_year: int = Field(ge=1)  # 每年至少评估一次
    score_scale: Decimal = Field(gt=0)
    exit_score: Decimal = Field(ge=0)  # a score below this removes the institution 退出
    archive_retention_years: int = Field(ge=1)  # 档案保存年限
    complaint_reply_working_days: Days
    complaint_reply_working_days_with_verification: Days
    complaint_extension_max_days: Days

    def meets_staff_minimum(self, professional_staff: int) -> bool:
        return self.min_professional_staff is None or professional_staff >= self.min_professional_staff

    def must_exit(self, score: Decimal) -> bool:
        return score < self.exit_score


# --- 6. supervision ------------------------------------------------------------------------


class SupervisionRules(_Rules):
    """Which bureau supervises which industry 行业主管部门, and the non-insurance fine range.

    ``industry_bureaus`` lists bureau codes per industry, lead bureau first; ``bureau_names``
    gives each code's local name (Beijing: 应急管理, 经信, 公安, 交通, 住建, 城管, 水务, 园林绿化).
    """

    coordinating_bureau: str  # 牵头: emergency management 应急管理
    bureau_names: dict[str, str]
    industry_bureaus: dict[Industry, tuple[str, ...]]
    non_insurance_fine_min: Money  # 未投保罚款, an alert for monitoring, not enforced here
    non_insurance_fine_max: Money

    @model_validator(mode="after")
    def _known_bureaus(self) -> SupervisionRules:
        named = set(self.bureau_names)
        if self.coordinating_bureau not in named:
            raise ValueError(f"coordinating bureau {self.coordinating_bureau} has no name")
        for industry, bureaus in self.industry_bureaus.items():
            if not bureaus or not set(bureaus) <= named:
                raise ValueError(f"industry {industry} maps to unnamed or no bureaus: {bureaus}")
        if self.non_insurance_fine_min > self.non_insurance_fine_max:
            raise ValueError("non-insurance fine range is inverted")
        return self

    def bureaus_for(self, industry: Industry) -> tuple[str, ...]:
        return self.industry_bureaus.get(industry, ())

    def industries_for(self, bureau: str) -> tuple[Industry, ...]:
        return tuple(i for i, bureaus in self.industry_bureaus.items() if bureau in bureaus)


# --- the profile ---------------------------------------------------------------------------


class EvaluationRules(_Rules):
    """Annual evaluation of insurers 年度综合评价: indicator weights (summing to 100), point mappings, ties.

    No official text fixes these; they are profile defaults. Points per indicator run 0..100:
    commission compliance = share of policies within the cap × 100; prevention spend =
    min(spent / collected ÷ target, 1) × 100, 0 above the cap; fast-track on time = 100 −
    ``fast_track_points_per_miss`` per missed deadline. Ranking: total descending, ties by insurer name.
    """

    weight_commission_compliance: int = 40
    weight_prevention_spend: int = 40
    weight_fast_track_on_time: int = 20
    fast_track_points_per_miss: int = 20
    ties: str = "insurer_name_ascending"

    @model_validator(mode="after")
    def _weights_sum_to_100(self) -> EvaluationRules:
        total = self.weight_commission_compliance + self.weight_prevention_spend + self.weight_fast_track_on_time
        if total != 100:
            raise ValueError(f"evaluation weights sum to {total}, not 100")
        return self


class JurisdictionProfile(_Rules):
    """One jurisdiction's resolved rule set 地区规则配置 over ``[effective_from, effective_to)``.

    ``lineage`` names the file versions merged into it (parent first); ``provenance`` maps each
    dotted field path (``"commission.cap_ratio"``) to its source or to ``"profile default"``.
    """

    jurisdiction: str  # "national", "beijing", "yunnan"
    name_zh: str
    version: str
    effective_from: dt.date
    effective_to: dt.date | None = None  # exclusive
    extends: str | None = None
    lineage: tuple[str, ...]
    sources: dict[str, SourceDocument]
    provenance: dict[str, str]

    coverage: CoverageRules
    limits: LimitRules
    sub_limits: SubLimitRules
    policy_term: PolicyTermRules
    rating: RatingRules
    commission: CommissionRules
    accident_grades: AccidentGradeThresholds
    casualty_revision: CasualtyRevisionRules
    fast_track: FastTrackRules
    claim_handling: ClaimHandlingRules
    prevention_fund: PreventionFundRules
    service_institutions: ServiceInstitutionRules
    supervision: SupervisionRules
    evaluation: EvaluationRules = EvaluationRules()

    @model_validator(mode="after")
    def _sections_agree(self) -> JurisdictionProfile:
        if self.effective_to is not None and self.effective_to <= self.effective_from:
            raise ValueError("effective_to must come after effective_from")
        insured = set(self.coverage.mandatory_industries) | set(self.coverage.encouraged_industries)
        for what, mapping in (("bureau", self.supervision.industry_bureaus), ("base rate", self.rating.base_rates_permille)):
            missing = insured - set(mapping)
            if missing:
                raise ValueError(f"industries without a {what}: {sorted(missing)}")
        stray = set(self.supervision.industry_bureaus) - insured
        if stray:
            raise ValueError(f"bureau map names industries this jurisdiction does not insure: {sorted(stray)}")
        return self

    def in_force(self, on: dt.date) -> bool:
        return self.effective_from <= on and (self.effective_to is None or on < self.effective_to)

    def must_insure(self, industry: Industry) -> bool:
        """Whether a unit in ``industry`` must insure 应当投保 here."""
        return self.coverage.must_insure(industry)

    def minimum_death_disability_limit(self, policy_start: dt.date) -> Decimal:
        """Lowest per-person death/disability limit 每人死亡伤残责任限额 for a policy starting then."""
        return self.limits.minimum_death_disability_limit(policy_start)

    def minimum_death_disability_breakdown(self, policy_start: dt.date) -> MinimumLimitBreakdown:
        return self.limits.minimum_breakdown(policy_start)

    def accident_grade(self, deaths: int, serious_injuries: int, direct_loss: Decimal) -> AccidentGrade:
        return self.accident_grades.grade(deaths, serious_injuries, direct_loss)

    def provenance_of(self, path: str) -> str:
        """Source of a value by dotted path; for a section, its leaves' distinct sources joined by "; "."""
        if path in self.provenance:
            return self.provenance[path]
        under = sorted({v for k, v in self.provenance.items() if k.startswith(path + ".")})
        if not under:
            raise KeyError(f"no provenance for {path!r} in {self.jurisdiction} {self.version}")
        return "; ".join(under)

    def is_profile_default(self, path: str) -> bool:
        return all(part.strip().startswith(PROFILE_DEFAULT) for part in self.provenance_of(path).split(";"))
