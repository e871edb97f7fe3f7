"""Jurisdiction profiles: every number from domain.md, at its boundary, and its provenance."""

from __future__ import annotations

import copy
import datetime as dt
from decimal import Decimal

import pytest
from pydantic import ValidationError

from contracts.enums import Industry
from contracts.profiles import (
    PROFILE_DEFAULT,
    AccidentGrade,
    IncomeFigureMissing,
    IncomeFigures,
    JurisdictionProfile,
    LimitRules,
    ProfileInvalid,
    ProfileNotFound,
    RatingRules,
    catalog_from_documents,
    get_profile,
    list_jurisdictions,
    load_profiles,
    model_leaf_paths,
    read_packaged_documents,
)

IN_FORCE = dt.date(2025, 6, 1)
SHANGHAI = dt.timezone(dt.timedelta(hours=8))
MANDATORY_EIGHT = {
    Industry.MINE, Industry.HAZCHEM, Industry.FIREWORKS, Industry.TRANSPORT,
    Industry.CONSTRUCTION, Industry.EXPLOSIVES, Industry.METAL_SMELTING, Industry.FISHERY,
}
BEIJING_ENCOURAGED = {
    Industry.NINE_SMALL_PLACES, Industry.CROWDED_PLACES, Industry.MIXED_BUSINESS,
    Industry.COMMERCIAL_COMPLEX, Industry.LARGE_EVENTS, Industry.AGRI_MACHINERY,
    Industry.CONFINED_SPACE, Industry.EXPLOSIVE_DUST, Industry.CITY_UTILITIES,
}


@pytest.fixture(scope="module")
def national() -> JurisdictionProfile:
    return get_profile("national", IN_FORCE)


@pytest.fixture(scope="module")
def beijing() -> JurisdictionProfile:
    return get_profile("beijing", IN_FORCE)


@pytest.fixture(scope="module")
def yunnan() -> JurisdictionProfile:
    return get_profile("yunnan", IN_FORCE)


@pytest.fixture
def documents() -> dict:
    """A private copy of the packaged TOML documents, free to alter."""
    return copy.deepcopy(read_packaged_documents())


def made_up_region(version: str, start: dt.date, end: dt.date | None = None, **sections) -> dict:
    document = {
        "jurisdiction": "testland", "name_zh": "测试地区", "version": version, "extends": "national",
        "effective_from": start, "provenance": {"effective_from": "profile default"},
    }
    if end is not None:
        document["effective_to"] = end
        document["provenance"]["effective_to"] = "profile default"
    for section, values in sections.items():
        document[section] = values
        document["provenance"][section] = "profile default"
    return document


# --- loading and date selection ----------------------------------------------------------


def test_jurisdictions_are_national_beijing_yunnan():
    assert list_jurisdictions() == ("beijing", "national", "yunnan")


def test_profiles_are_loaded_once_and_cached():
    assert load_profiles() is load_profiles()


@pytest.mark.parametrize("jurisdiction", ["national", "beijing", "yunnan"])
def test_profile_is_in_force_from_effective_from_not_the_day_before(jurisdiction):
    assert get_profile(jurisdiction, dt.date(2025, 3, 29)).effective_from == dt.date(2025, 3, 29)
    with pytest.raises(ProfileNotFound, match="2025-03-28"):
        get_profile(jurisdiction, dt.date(2025, 3, 28))


def test_profile_not_found_is_a_lookup_error_for_unknown_jurisdiction():
    assert issubclass(ProfileNotFound, LookupError)
    with pytest.raises(ProfileNotFound, match="unknown jurisdiction 'atlantis'"):
        get_profile("atlantis", IN_FORCE)


def test_version_in_force_ends_the_day_before_effective_to(documents):
    documents["t1.toml"] = made_up_region("1", dt.date(2025, 4, 1), dt.date(2026, 1, 1))
    documents["t2.toml"] = made_up_region("2", dt.date(2026, 1, 1), commission={"cap_ratio": "0.04"})
    catalog = catalog_from_documents(documents)
    assert catalog.get("testland", dt.date(2025, 12, 31)).version == "1"
    assert catalog.get("testland", dt.date(2025, 12, 31)).commission.cap_ratio == Decimal("0.05")
    assert catalog.get("testland", dt.date(2026, 1, 1)).version == "2"
    assert catalog.get("testland", dt.date(2026, 1, 1)).commission.cap_ratio == Decimal("0.04")


def test_national_change_reaches_regions_on_its_own_date(documents):
    documents["national-2025.toml"]["effective_to"] = dt.date(2027, 1, 1)
    documents["national-2025.toml"]["provenance"]["effective_to"] = "profile default"
    later = copy.deepcopy(documents["national-2025.toml"])
    later.update(version="2027.1", effective_from=dt.date(2027, 1, 1))
    del later["effective_to"]
    later["limits"]["floor_per_person"] = 500000
    documents["national-2027.toml"] = later
    catalog = catalog_from_documents(documents)
    before, after = catalog.get("beijing", dt.date(2026, 12, 31)), catalog.get("beijing", dt.date(2027, 1, 1))
    assert (before.effective_to, after.effective_from) == (dt.date(2027, 1, 1), dt.date(2027, 1, 1))
    assert after.lineage == ("national 2027.1", "beijing 2025.1")
    assert before.limits.floor_per_person == 400000
    assert after.limits.floor_per_person == 500000
    assert after.fast_track.clock_hours == 48  # Beijing's own values survive


def test_overlapping_versions_are_refused(documents):
    documents["t1.toml"] = made_up_region("1", dt.date(2025, 4, 1), dt.date(2026, 1, 2))
    documents["t2.toml"] = made_up_region("2", dt.date(2026, 1, 1))
    with pytest.raises(ProfileInvalid, match="overlap"):
        catalog_from_documents(documents)


def test_region_starting_before_its_parent_is_refused(documents):
    documents["t.toml"] = made_up_region("1", dt.date(2025, 3, 28))
    with pytest.raises(ProfileInvalid, match="not in force from 2025-03-28"):
        catalog_from_documents(documents)


def test_toml_float_for_money_is_refused(documents):
    documents["national-2025.toml"]["commission"]["cap_ratio"] = 0.05
    with pytest.raises(ProfileInvalid, match="not TOML floats"):
        catalog_from_documents(documents)


def test_misspelt_key_is_refused(documents):
    documents["national-2025.toml"]["commission"]["cap_ration"] = "0.05"
    documents["national-2025.toml"]["provenance"]["commission"]["cap_ration"] = "Measures 2025 Art. 14"
    with pytest.raises(ProfileInvalid, match="cap_ration"):
        catalog_from_documents(documents)


def test_profiles_are_frozen(national):
    with pytest.raises(ValidationError):
        national.commission = None


def test_money_and_ratios_are_decimal(national, beijing):
    assert isinstance(national.limits.floor_per_person, Decimal)
    assert isinstance(national.commission.cap_ratio, Decimal)
    assert isinstance(beijing.limits.income_linked_minimum.urban_disposable_income[2025].local, Decimal)


def test_regional_profile_inherits_national_values(beijing, yunnan):
    assert beijing.lineage == ("national 2025.1", "beijing 2025.1")
    assert beijing.extends == yunnan.extends == "national"
    assert beijing.commission.cap_ratio == Decimal("0.05")
    assert yunnan.accident_grades.larger.deaths == 3
    assert beijing.provenance_of("commission.cap_ratio") == "Measures 2025 Art. 14"


def test_sources_name_measures_2025_by_document_number(beijing):
    assert beijing.sources["Measures 2025"].document_no == "应急〔2025〕27号"
    assert "Beijing draft" in beijing.sources


# --- provenance ----------------------------------------------------------------------------


def _toml_leaves(table: dict, prefix: str = ""):
    for key, value in table.items():
        if isinstance(value, dict):
            yield from _toml_leaves(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}"


@pytest.mark.parametrize("file_name", sorted(read_packaged_documents()))
def test_every_toml_value_has_provenance_in_its_own_file(file_name):
    document = read_packaged_documents()[file_name]
    cited = set(_toml_leaves(document["provenance"]))
    identity = {"jurisdiction", "name_zh", "version", "extends", "replace", "sources", "provenance"}
    values = _toml_leaves({k: v for k, v in document.items() if k not in identity})
    uncited = [path for path in values if not any(path == c or path.startswith(c + ".") for c in cited)]
    assert uncited == []


@pytest.mark.parametrize("jurisdiction", ["national", "beijing", "yunnan"])
def test_every_profile_value_is_sourced_or_marked_profile_default(jurisdiction):
    profile = get_profile(jurisdiction, IN_FORCE)
    for path in model_leaf_paths(profile):
        for part in profile.provenance[path].split(";"):
            part = part.strip()
            assert part.startswith(PROFILE_DEFAULT) or any(part.startswith(key) for key in profile.sources), path


def test_value_without_provenance_is_refused(documents):
    del documents["national-2025.toml"]["provenance"]["commission"]["cap_ratio"]
    with pytest.raises(ProfileInvalid, match=r"without provenance: \['commission.cap_ratio'\]"):
        catalog_from_documents(documents)


def test_citation_of_undeclared_source_is_refused(documents):
    documents["national-2025.toml"]["provenance"]["commission"]["cap_ratio"] = "Hearsay Art. 1"
    with pytest.raises(ProfileInvalid, match="cites no declared source"):
        catalog_from_documents(documents)


def test_provenance_for_unknown_field_is_refused(documents):
    documents["national-2025.toml"]["provenance"]["commission"]["floor"] = "profile default"
    with pytest.raises(ProfileInvalid, match="unknown field 'commission.floor'"):
        catalog_from_documents(documents)


def test_profile_defaults_are_told_apart_from_sourced_values(national, beijing):
    assert national.is_profile_default("fast_track.clock_hours")
    assert not beijing.is_profile_default("fast_track.clock_hours")
    assert not national.is_profile_default("commission.cap_ratio")
    assert national.is_profile_default("sub_limits")
    assert national.is_profile_default("service_institutions.min_professional_staff")


# --- 1. who must insure ----------------------------------------------------------------------


def test_national_mandatory_industries_are_the_eight(national):
    assert set(national.coverage.mandatory_industries) == MANDATORY_EIGHT
    assert national.must_insure(Industry.FISHERY)
    assert national.coverage.encouraged_industries == ()


def test_beijing_mandates_seven_and_excludes_fishery(beijing):
    assert set(beijing.coverage.mandatory_industries) == MANDATORY_EIGHT - {Industry.FISHERY}
    assert not beijing.must_insure(Industry.FISHERY)
    assert beijing.must_insure(Industry.MINE)


def test_beijing_encourages_nine_categories_without_mandating_them(beijing):
    assert set(beijing.coverage.encouraged_industries) == BEIJING_ENCOURAGED
    assert all(beijing.coverage.encourages(i) and not beijing.must_insure(i) for i in BEIJING_ENCOURAGED)


def test_yunnan_mandates_the_national_eight(yunnan):
    assert set(yunnan.coverage.mandatory_industries) == MANDATORY_EIGHT


def test_every_employee_gets_one_insured_amount(national):
    assert national.coverage.uniform_employee_limit is True


# --- 2. limits -------------------------------------------------------------------------------


@pytest.mark.parametrize("jurisdiction", ["national", "yunnan"])
def test_minimum_death_disability_limit_is_400000_without_regional_formula(jurisdiction):
    profile = get_profile(jurisdiction, IN_FORCE)
    assert profile.minimum_death_disability_limit(dt.date(2026, 1, 1)) == Decimal(400000)
    assert profile.provenance_of("limits.floor_per_person") == "Measures 2025 Art. 15"


@pytest.mark.parametrize(
    ("policy_start", "minimum"),
    [
        (dt.date(2024, 1, 1), Decimal(736580)),
        (dt.date(2024, 12, 31), Decimal(736580)),
        (dt.date(2025, 1, 1), Decimal(765520)),
        (dt.date(2025, 12, 31), Decimal(765520)),
        (dt.date(2026, 1, 1), Decimal(795800)),
    ],
)
def test_beijing_minimum_uses_previous_year_incomes(beijing, policy_start, minimum):
    assert beijing.minimum_death_disability_limit(policy_start) == minimum


def test_beijing_minimum_breakdown_shows_each_step(beijing):
    breakdown = beijing.minimum_death_disability_breakdown(dt.date(2026, 1, 1))
    assert breakdown.income_year == 2025
    assert (breakdown.local_amount, breakdown.deduction) == (Decimal(1925840), Decimal(1130040))
    assert (breakdown.formula_amount, breakdown.minimum, breakdown.floor_applied) == (Decimal(795800), Decimal(795800), False)
    assert "1925840 − 1130040 = 795800" in breakdown.steps


def test_beijing_minimum_uses_latest_earlier_year_before_statistics_appear(beijing):
    # 2026 figures are not in the table: a 2027 policy falls back to 2025's
    breakdown = beijing.minimum_death_disability_breakdown(dt.date(2027, 1, 10))
    assert (breakdown.income_year, breakdown.minimum) == (2025, Decimal(795800))
    assert beijing.is_profile_default("limits.income_linked_minimum.year_rule")


def test_previous_year_only_rule_refuses_a_missing_year(beijing):
    rule = beijing.limits.income_linked_minimum.model_copy(update={"year_rule": "PREVIOUS_YEAR_ONLY"})
    limits = beijing.limits.model_copy(update={"income_linked_minimum": rule})
    assert limits.minimum_death_disability_limit(dt.date(2026, 1, 1)) == Decimal(795800)
    with pytest.raises(IncomeFigureMissing):
        limits.minimum_death_disability_limit(dt.date(2027, 1, 1))


def test_beijing_minimum_without_an_earlier_income_figure_is_refused(beijing):
    with pytest.raises(IncomeFigureMissing, match="before 2023"):
        beijing.minimum_death_disability_limit(dt.date(2023, 6, 1))


@pytest.mark.parametrize(
    ("local", "national_income", "minimum", "floor_applied"),
    [
        (60000, 50000, Decimal(400000), True),  # formula 200,000
        (70000, 50000, Decimal(400000), False),  # formula exactly 400,000
        (70000, 49999, Decimal(400020), False),
    ],
)
def test_beijing_minimum_never_goes_below_national_floor(beijing, local, national_income, minimum, floor_applied):
    contrived = {2025: IncomeFigures(local=Decimal(local), national=Decimal(national_income))}
    rule = beijing.limits.income_linked_minimum.model_copy(update={"urban_disposable_income": contrived})
    limits = beijing.limits.model_copy(update={"income_linked_minimum": rule})
    breakdown = limits.minimum_breakdown(dt.date(2026, 1, 1))
    assert (breakdown.minimum, breakdown.floor_applied) == (minimum, floor_applied)


@pytest.mark.parametrize(("grade", "ratio"), [(1, "1.00"), (2, "0.90"), (9, "0.20"), (10, "0.10")])
def test_disability_grade_pays_its_share_of_the_per_person_limit(national, grade, ratio):
    assert national.limits.disability_ratio(grade) == Decimal(ratio)


@pytest.mark.parametrize("grade", [0, 11])
def test_disability_grade_outside_one_to_ten_is_refused(national, grade):
    with pytest.raises(ValueError, match="1..10"):
        national.limits.disability_ratio(grade)


def test_death_pays_the_whole_per_person_limit(national):
    assert national.limits.death_ratio == Decimal("1.00")


def test_disability_table_missing_a_grade_is_refused(national):
    data = national.limits.model_dump()
    del data["disability_grade_ratios"][10]
    with pytest.raises(ValidationError, match="grades 1 to 10"):
        LimitRules.model_validate(data)


def test_sub_limits_derive_from_per_person_limit_and_headcount(national):
    amounts = national.sub_limits.amounts(Decimal(400000), 10)
    assert amounts.per_accident == amounts.aggregate == Decimal(4000000)
    assert amounts.employee_medical_per_person == Decimal("120000.00")  # 30% of per-person
    assert amounts.rescue == Decimal("1200000.00")  # 30% of aggregate
    assert amounts.legal == Decimal("200000.00")  # 5% of aggregate


@pytest.mark.parametrize(
    ("start", "latest_end"),
    [(dt.date(2025, 1, 1), dt.date(2025, 12, 31)), (dt.date(2025, 7, 15), dt.date(2026, 7, 14)),
     (dt.date(2024, 2, 29), dt.date(2025, 2, 28))],
)
def test_policy_period_is_at_most_one_year(national, start, latest_end):
    assert national.policy_term.latest_end(start) == latest_end


def test_mandatory_renewal_starts_by_the_day_after_the_previous_end(national):
    term = national.policy_term
    assert term.renewal_max_gap_days == 1
    assert term.renewal_on_time(dt.date(2025, 12, 31), dt.date(2026, 1, 1))
    assert not term.renewal_on_time(dt.date(2025, 12, 31), dt.date(2026, 1, 2))


# --- 3. rates and commission -----------------------------------------------------------------


def test_rating_factor_and_product_bounds(national):
    rating = national.rating
    assert (rating.factor_min, rating.factor_max) == (Decimal("0.7"), Decimal("1.3"))
    assert (rating.product_min, rating.product_max) == (Decimal("0.5"), Decimal("2.0"))


def test_rating_factors_are_those_the_rules_name_and_beijing_adds_social_rescue(national, beijing):
    named = ("ACCIDENT_RECORD", "SAFETY_STANDARDIZATION", "VIOLATION_DISHONESTY", "HAZARD_RECTIFICATION")
    assert national.rating.factors == named
    assert beijing.rating.factors == named + ("SOCIAL_RESCUE",)
    assert "SOCIAL_RESCUE" not in national.rating.adjustments


@pytest.mark.parametrize(
    ("code", "option", "factor"),
    [
        ("ACCIDENT_RECORD", "NO_ACCIDENT", "0.90"),
        ("ACCIDENT_RECORD", "GENERAL", "1.10"),
        ("ACCIDENT_RECORD", "LARGER", "1.20"),
        ("ACCIDENT_RECORD", "SERIOUS_OR_WORSE", "1.30"),
        ("SAFETY_AWARD", "MUNICIPAL", "0.95"),
        ("SAFETY_AWARD", "PROVINCIAL", "0.90"),
    ],
)
def test_fuyang_factor_table_is_the_default(national, code, option, factor):
    assert national.rating.factor(code, option) == Decimal(factor)
    assert national.is_profile_default(f"rating.adjustments.{code}")


def test_combined_factor_multiplies_and_clamps_the_product(national):
    choices = {"ACCIDENT_RECORD": "NO_ACCIDENT", "SAFETY_AWARD": "PROVINCIAL", "SAFETY_STANDARDIZATION": "LEVEL_1"}
    assert national.rating.combined_factor(choices) == Decimal("0.729")
    tighter = national.rating.model_copy(update={"product_min": Decimal("0.8")})
    assert tighter.combined_factor(choices) == Decimal("0.8")


def test_factor_option_outside_bounds_is_refused(national):
    data = national.rating.model_dump()
    data["adjustments"]["ACCIDENT_RECORD"]["SERIOUS_OR_WORSE"] = Decimal("0.31")
    with pytest.raises(ValidationError, match="outside the factor bounds"):
        RatingRules.model_validate(data)


def test_every_insured_industry_has_a_default_base_rate(beijing, national):
    for profile in (national, beijing):
        insured = set(profile.coverage.mandatory_industries) | set(profile.coverage.encouraged_industries)
        assert insured <= set(profile.rating.base_rates_permille)
        assert profile.is_profile_default("rating.base_rates_permille")
    assert national.rating.base_premium_per_person(Industry.MINE, Decimal(400000)) == Decimal("1000.00")


@pytest.mark.parametrize(
    ("project_cost", "premium"),
    [
        (Decimal(10000000), Decimal("6500.00")),  # 0.65‰ up to 10 M
        (Decimal(10001000), Decimal("6500.60")),  # the next 1,000 at 0.60‰
        (Decimal(2000000000), Decimal("883000.00")),  # 0.40‰ on the part above 1,000 M
    ],
)
def test_construction_premium_bands_on_project_cost(national, project_cost, premium):
    bands = national.rating.construction.ordered_bands()
    assert (bands[0].rate_permille, bands[-1].rate_permille) == (Decimal("0.65"), Decimal("0.40"))
    assert national.rating.construction.base_premium(project_cost) == premium


def test_commission_cap_is_five_percent_of_premium(national, beijing):
    assert national.commission.cap_ratio == beijing.commission.cap_ratio == Decimal("0.05")
    assert national.commission.max_commission(Decimal(86000)) == Decimal("4300.00")
    assert national.commission.commission_allowed(Decimal(86000), Decimal(4300))
    assert not national.commission.commission_allowed(Decimal(86000), Decimal("4300.01"))
    assert not national.commission.commission_allowed(Decimal(86000), Decimal(4301))


# --- 4. claims -------------------------------------------------------------------------------

M = Decimal(1000000)


@pytest.mark.parametrize(
    ("deaths", "serious_injuries", "direct_loss", "grade"),
    [
        (2, 12, 3 * M, AccidentGrade.LARGER),  # domain.md example: the injuries decide
        (0, 0, Decimal(0), AccidentGrade.GENERAL),
        (2, 0, Decimal(0), AccidentGrade.GENERAL),
        (3, 0, Decimal(0), AccidentGrade.LARGER),
        (9, 0, Decimal(0), AccidentGrade.LARGER),
        (10, 0, Decimal(0), AccidentGrade.SERIOUS),
        (29, 0, Decimal(0), AccidentGrade.SERIOUS),
        (30, 0, Decimal(0), AccidentGrade.ESPECIALLY_SERIOUS),
        (0, 9, Decimal(0), AccidentGrade.GENERAL),
        (0, 10, Decimal(0), AccidentGrade.LARGER),
        (0, 49, Decimal(0), AccidentGrade.LARGER),
        (0, 50, Decimal(0), AccidentGrade.SERIOUS),
        (0, 99, Decimal(0), AccidentGrade.SERIOUS),
        (0, 100, Decimal(0), AccidentGrade.ESPECIALLY_SERIOUS),
        (0, 0, Decimal("9999999.99"), AccidentGrade.GENERAL),
        (0, 0, 10 * M, AccidentGrade.LARGER),
        (0, 0, Decimal("49999999.99"), AccidentGrade.LARGER),
        (0, 0, 50 * M, AccidentGrade.SERIOUS),
        (0, 0, Decimal("99999999.99"), AccidentGrade.SERIOUS),
        (0, 0, 100 * M, AccidentGrade.ESPECIALLY_SERIOUS),
        (2, 9, 100 * M, AccidentGrade.ESPECIALLY_SERIOUS),  # the highest measure wins
    ],
)
def test_accident_grade_is_the_highest_any_measure_reaches(national, deaths, serious_injuries, direct_loss, grade):
    assert national.accident_grade(deaths, serious_injuries, direct_loss) == grade


def test_accident_grade_refuses_negative_figures(national):
    with pytest.raises(ValueError):
        national.accident_grade(-1, 0, Decimal(0))


def test_casualty_figures_may_change_for_30_days_or_7_for_road_traffic_and_fire(national):
    occurred = dt.date(2025, 6, 1)
    assert national.casualty_revision.deadline(occurred) == dt.date(2025, 7, 1)
    assert national.casualty_revision.deadline(occurred, road_traffic_or_fire=True) == dt.date(2025, 6, 8)


def test_beijing_fast_track_starts_at_two_deaths_or_major_social_impact(beijing):
    fast_track = beijing.fast_track
    assert not fast_track.applies(deaths=1)
    assert fast_track.applies(deaths=2)
    assert fast_track.applies(deaths=0, major_social_impact=True)


def test_fast_track_clock_is_48_hours_from_the_report(beijing):
    reported = dt.datetime(2025, 6, 1, 8, 0, tzinfo=SHANGHAI)
    assert beijing.fast_track.on_time(reported, reported + dt.timedelta(hours=48))
    assert not beijing.fast_track.on_time(reported, reported + dt.timedelta(hours=48, seconds=1))
    with pytest.raises(ValueError, match="timezone-aware"):
        beijing.fast_track.deadline(reported.replace(tzinfo=None))


def test_national_fast_track_uses_beijing_values_as_profile_default(national):
    assert (national.fast_track.death_threshold, national.fast_track.clock_hours) == (2, 48)
    assert national.is_profile_default("fast_track")


def test_claim_handling_defaults_follow_the_insurance_law(national):
    rules = national.claim_handling
    assert (rules.decide_within_days, rules.pay_within_days_after_agreement) == (30, 10)
    assert (rules.rejection_notice_within_days, rules.prepay_if_unfixed_after_days) == (3, 60)


# --- 5. prevention ---------------------------------------------------------------------------

TEN_MILLION = Decimal(10000000)


@pytest.mark.parametrize("jurisdiction", ["national", "beijing", "yunnan"])
def test_prevention_fund_cap_is_21_percent_and_target_20(jurisdiction):
    fund = get_profile(jurisdiction, IN_FORCE).prevention_fund
    assert (fund.cap_ratio, fund.target_ratio) == (Decimal("0.21"), Decimal("0.20"))
    assert fund.cap_amount(TEN_MILLION) == Decimal("2100000.00")
    assert fund.target_amount(TEN_MILLION) == Decimal("2000000.00")


def test_each_jurisdiction_cites_its_own_prevention_target(national, beijing, yunnan):
    assert national.provenance_of("prevention_fund.cap_ratio") == "Measures 2025 Art. 22"
    assert beijing.provenance_of("prevention_fund.target_ratio") == "Beijing draft"
    assert yunnan.provenance_of("prevention_fund.target_ratio").startswith("Yunnan")


def test_beijing_target_binds_from_2028(beijing, national):
    assert beijing.prevention_fund.target_deadline == dt.date(2028, 12, 31)
    assert not beijing.prevention_fund.target_binding_for_year(2027)
    assert beijing.prevention_fund.target_binding_for_year(2028)
    assert national.prevention_fund.target_binding_for_year(2025)


def test_beijing_carries_unspent_prevention_money_into_next_year(beijing, national):
    assert beijing.prevention_fund.carry_over(TEN_MILLION, Decimal(1500000)) == Decimal("500000.00")
    assert beijing.prevention_fund.carry_over(TEN_MILLION, Decimal(2500000)) == Decimal(0)
    assert national.prevention_fund.carry_over(TEN_MILLION, Decimal(1500000)) == Decimal(0)


def test_whether_carried_money_counts_toward_the_cap_is_a_profile_setting(beijing):
    fund = beijing.prevention_fund
    assert beijing.is_profile_default("prevention_fund.carried_funds_count_toward_cap")
    assert fund.spending_limit(TEN_MILLION, carried_in=Decimal(500000)) == Decimal("2600000.00")
    counted = fund.model_copy(update={"carried_funds_count_toward_cap": True})
    assert counted.spending_limit(TEN_MILLION, carried_in=Decimal(500000)) == Decimal("2100000.00")


def test_prevention_money_is_never_for_business_promotion(beijing):
    fund = beijing.prevention_fund
    assert not fund.expense_allowed("BUSINESS_PROMOTION")
    assert not fund.expense_allowed("MARKETING")
    assert not fund.expense_allowed("TEAM_DINNER")  # unknown categories are not allowed either
    assert fund.expense_allowed("HAZARD_INSPECTION")


def test_yunnan_service_institutions_need_15_professional_staff(yunnan, national, beijing):
    assert yunnan.service_institutions.min_professional_staff == 15
    assert not yunnan.service_institutions.meets_staff_minimum(14)
    assert yunnan.service_institutions.meets_staff_minimum(15)
    assert national.service_institutions.min_professional_staff is None
    assert beijing.service_institutions.min_professional_staff is None


def test_service_institution_below_exit_score_is_removed(national):
    rules = national.service_institutions
    assert rules.min_evaluations_per_year == 1
    assert rules.must_exit(Decimal("59.99"))
    assert not rules.must_exit(Decimal(60))
    assert national.is_profile_default("service_institutions.exit_score")


def test_service_archives_and_complaints_follow_aq_9010(national):
    rules = national.service_institutions
    assert rules.archive_retention_years == 5
    assert (rules.complaint_reply_working_days, rules.complaint_reply_working_days_with_verification) == (10, 30)
    assert national.provenance_of("service_institutions.archive_retention_years") == "AQ 9010-2019"


# --- 6. supervision --------------------------------------------------------------------------


def test_beijing_bureaus_are_the_eight_the_draft_names(beijing):
    assert set(beijing.supervision.bureau_names.values()) == {"应急管理", "经信", "公安", "交通", "住建", "城管", "水务", "园林绿化"}
    assert "AGRICULTURE" not in beijing.supervision.bureau_names


@pytest.mark.parametrize(
    ("industry", "lead"),
    [
        (Industry.MINE, "EMERGENCY"), (Industry.HAZCHEM, "EMERGENCY"), (Industry.FIREWORKS, "EMERGENCY"),
        (Industry.METAL_SMELTING, "EMERGENCY"), (Industry.TRANSPORT, "TRANSPORT"),
        (Industry.CONSTRUCTION, "HOUSING_CONSTRUCTION"), (Industry.EXPLOSIVES, "PUBLIC_SECURITY"),
    ],
)
def test_industry_lead_bureau(national, beijing, industry, lead):
    assert national.supervision.bureaus_for(industry)[0] == beijing.supervision.bureaus_for(industry)[0] == lead


def test_fishery_goes_to_agriculture_nationally_and_nowhere_in_beijing(national, beijing):
    assert national.supervision.bureaus_for(Industry.FISHERY) == ("AGRICULTURE",)
    assert beijing.supervision.bureaus_for(Industry.FISHERY) == ()


def test_bureau_sees_its_industries(beijing):
    assert beijing.supervision.industries_for("HOUSING_CONSTRUCTION") == (Industry.CONSTRUCTION,)
    assert Industry.CITY_UTILITIES in beijing.supervision.industries_for("WATER")
    assert beijing.is_profile_default("supervision.industry_bureaus")


def test_non_insurance_fine_range_is_50000_to_100000(national):
    assert (national.supervision.non_insurance_fine_min, national.supervision.non_insurance_fine_max) == (50000, 100000)
    assert national.provenance_of("supervision.non_insurance_fine_min") == "Work Safety Law Art. 109"

