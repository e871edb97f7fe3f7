"""Shared vocabularies that cross service boundaries: industries, roles, scopes, services."""

from __future__ import annotations

from enum import StrEnum


class Industry(StrEnum):
    """High-risk industries (Measures 2025 Art. 2, Art. 43) and encouraged categories (Beijing draft part 1)."""

    # the 8 national mandatory industries 高危行业领域
    MINE = "MINE"  # 矿山
    HAZCHEM = "HAZCHEM"  # 危险化学品
    FIREWORKS = "FIREWORKS"  # 烟花爆竹
    TRANSPORT = "TRANSPORT"  # 交通运输
    CONSTRUCTION = "CONSTRUCTION"  # 建筑施工
    EXPLOSIVES = "EXPLOSIVES"  # 民用爆炸物品
    METAL_SMELTING = "METAL_SMELTING"  # 金属冶炼
    FISHERY = "FISHERY"  # 渔业生产
    # categories Beijing encourages to insure
    NINE_SMALL_PLACES = "NINE_SMALL_PLACES"  # 九小场所
    CROWDED_PLACES = "CROWDED_PLACES"  # 人员密集场所
    MIXED_BUSINESS = "MIXED_BUSINESS"  # 多业态混合生产经营场所
    COMMERCIAL_COMPLEX = "COMMERCIAL_COMPLEX"  # 商业综合体
    LARGE_EVENTS = "LARGE_EVENTS"  # 大型群众性活动
    AGRI_MACHINERY = "AGRI_MACHINERY"  # 农业机械作业
    CONFINED_SPACE = "CONFINED_SPACE"  # 有限空间作业
    EXPLOSIVE_DUST = "EXPLOSIVE_DUST"  # 涉爆粉尘作业
    CITY_UTILITIES = "CITY_UTILITIES"  # 水电气热


class Role(StrEnum):
    """Who a platform client is. Carried in the JWT ``role`` claim."""

    INSURER = "insurer"  # 保险机构
    SERVICE_ORG = "service_org"  # 技术服务机构
    BUREAU = "bureau"  # 行业主管部门 (with its industries)
    EMERGENCY_ADMIN = "emergency_admin"  # 应急管理局
    FINANCE_REGULATOR = "finance_regulator"  # 金融监管局
    MUNICIPAL_PLATFORM = "municipal_platform"  # 市级平台


class ServiceName(StrEnum):
    POLICY = "policy"
    CLAIMS = "claims"
    PREVENTION = "prevention"
    MONITORING = "monitoring"
