"""Chinese labels of the contract's vocabularies, in the words of the 南岸区 notice and guide."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")

OVERDUE_KINDS: dict[str, str] = {
    "unfiled": "逾期未备案",
    "filed_late": "逾期备案",
    "change_late": "逾期变更",
    "correction_overdue": "整改逾期",
    "due_soon": "即将到期（7日内）",
}
STATUSES = {"filed": "已备案", "cancelled": "已注销", "unfiled": "未备案"}
CHANNELS = {"online": "线上", "offline": "线下"}
VERIFICATIONS = {"pending": "待核验", "confirmed": "已核验", "rejected": "已驳回"}
PLACE_CATEGORIES = {
    1: "一类：政府建设的道路及公共区域",
    2: "二类：人员聚集场所",
    3: "三类：交通枢纽",
    4: "四类：大中型公共交通工具",
    5: "五类：高速公路及国省干线服务区",
}
PLACE_TYPES = {
    "road_section": "城乡主要路段",
    "boundary_road": "行政区域道路边界",
    "bridge": "桥梁",
    "tunnel": "隧道",
    "underpass": "地下通道",
    "square": "广场",
    "key_unit_area": "治安保卫重点单位周边区域",
    "shopping_centre": "商贸中心",
    "exhibition_centre": "会展中心",
    "tourist_site": "旅游景区",
    "venue": "文化体育娱乐场所",
    "education": "教育机构",
    "medical": "医疗机构",
    "government_service_hall": "政务服务大厅",
    "park": "公园",
    "public_car_park": "公共停车场",
    "other_gathering": "其他人员聚集场所",
    "port_of_entry": "出境入境口岸（通道）",
    "airport": "机场",
    "passenger_port": "港口客运站",
    "navigation_structure": "通航建筑物",
    "railway_station": "铁路客运站",
    "coach_station": "汽车客运站",
    "urban_rail_station": "城市轨道交通站",
    "passenger_train": "客运列车",
    "passenger_coach": "营运载客汽车",
    "urban_rail_vehicle": "城市轨道交通车辆",
    "passenger_ship": "客运船舶",
    "expressway_service_area": "高速公路服务区",
    "trunk_road_service_area": "普通国省干线服务区",
}
DEVICE_TYPES = {
    "dome": "球机",
    "half_dome": "半球",
    "fixed_bullet": "固定枪机",
    "ptz_bullet": "云台枪机",
    "ptz_half_dome": "云台半球",
    "panoramic": "全景",
    "other": "其他",
}
EVENT_TYPES = {
    "filed": "备案登记",
    "discovered": "发现未备案",
    "changed": "备案变更",
    "cancelled": "注销",
    "correction_ordered": "责令限期改正",
    "inspected": "检查",
}
ROLES = {
    "person": "经办人",
    "legal_person": "法人用户",
    "officer": "民警",
    "auditor": "审计",
    "admin": "管理员",
}
OBLIGATIONS = {"registration": "备案登记", "change": "备案变更", "correction": "整改"}
INSPECTION_RESULTS = {"consistent": "与备案一致", "discrepancy": "与备案不符"}
UNIT_TYPES = {
    "government": "政府机关",
    "public_institution": "事业单位",
    "enterprise": "企业",
    "social_organization": "社会组织",
    "individual_business": "个体工商户",
    "other": "其他",
}
FIELDS = {
    "unit_uscc": "统一社会信用代码",
    "name": "系统名称",
    "place_category": "场所类别",
    "place_type": "场所类型",
    "address": "建设地址",
    "division_code": "行政区划代码",
    "longitude": "经度",
    "latitude": "纬度",
    "commissioned_on": "启用日期",
    "storage_days": "存储天数",
    "collection_area": "采集区域",
    "outsourced_to": "运维外包单位",
    "camera_count": "摄像机数量",
}


def label(table: dict[Any, str], value: Any) -> str:
    """The Chinese label of `value`, or the value itself when the table lacks it."""
    if value is None:
        return "—"
    return table.get(value, str(value))


def shanghai_time(value: Any) -> str:
    """An instant (datetime or RFC 3339 text) as Asia/Shanghai wall-clock time."""
    if value in (None, ""):
        return "—"
    instant = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    if instant.tzinfo is None:
        return instant.strftime("%Y-%m-%d %H:%M:%S")
    return instant.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S")


def calendar_day(value: Any) -> str:
    """A calendar date (already an Asia/Shanghai day) as YYYY-MM-DD."""
    if value in (None, ""):
        return "—"
    return value.isoformat() if isinstance(value, date) else str(value)[:10]
