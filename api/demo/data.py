"""The made-up but plausible contents of the demo district (南岸区, 500108): units of many kinds,
their systems in all five place categories, and the cameras of each system.

Everything is drawn from one seeded `random.Random`, so a demo is the same every time. The codes
are valid: USCCs carry their mod-31 check character, device IDs follow GB/T 28181.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from ledger.codes import USCC_ALPHABET, uscc_check_char

DIVISION = "500108"
STREETS = (
    "南坪西路", "南坪东路", "江南大道", "南城大道", "工贸路", "学府大道", "丹龙路", "茶园路",
    "通江大道", "长生大道", "南滨路", "铜元局正街", "海棠溪正街", "涂山路", "黄桷垭正街",
    "迎龙大道", "南湖路", "花园路", "亚太路", "响水路", "福红路", "辅仁路", "腾龙大道", "峡口大道",
)  # fmt: skip
PLACES = (
    "南坪", "四公里", "六公里", "弹子石", "铜元局", "海棠溪", "龙门浩", "南山", "黄桷垭",
    "茶园", "长生桥", "迎龙", "广阳", "峡口", "涂山", "鸡冠石", "南湖", "花园", "学府", "工贸",
)  # fmt: skip
SURNAMES = "王李张刘陈杨黄赵周吴徐孙马朱胡郭何林罗高郑梁谢宋唐许韩冯邓曹彭曾萧田董潘袁蔡蒋余"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红鹏辉建国志刚海燕晓东雪梅"


@dataclass(frozen=True)
class Kind:
    """A kind of unit: how its name reads, its unit type and USCC prefix, and its systems."""

    unit_type: str
    uscc_prefix: str  # registration authority + organisation category (GB 32100)
    names: tuple[str, ...]  # "{place}", "{n}" and "{street}" are filled in
    systems: tuple[tuple[int, str, str], ...]  # (category, place type, system name pattern)
    cameras: tuple[int, int]  # a typical system's camera count, low to high
    weight: int


KINDS: tuple[Kind, ...] = (
    Kind("enterprise", "91", ("重庆{place}商业管理有限公司", "重庆{place}购物广场有限公司"),
         ((2, "shopping_centre", "{unit_short}{n}号楼商场视频监控系统"),
          (2, "public_car_park", "{unit_short}地下停车场视频监控系统")), (8, 40), 14),
    Kind("enterprise", "91", ("重庆{place}超市连锁有限公司", "重庆{place}百货有限公司"),
         ((2, "shopping_centre", "{unit_short}{street}店视频监控系统"),), (4, 16), 10),
    Kind("public_institution", "12", ("重庆市南岸区{place}小学校", "重庆市南岸区{place}中学校",
                                      "重庆市南岸区{place}幼儿园"),
         ((2, "education", "{unit_short}校园视频监控系统"),
          (2, "education", "{unit_short}校门及周边视频监控系统")), (10, 60), 12),
    Kind("public_institution", "12",
         ("重庆市南岸区{place}社区卫生服务中心", "重庆市南岸区{place}医院"),
         ((2, "medical", "{unit_short}门诊楼视频监控系统"),
          (2, "medical", "{unit_short}住院部视频监控系统")), (8, 50), 8),
    Kind("government", "11", ("重庆市南岸区{place}街道办事处", "重庆市南岸区{place}镇人民政府"),
         ((1, "road_section", "{place}片区主要路段视频监控系统"),
          (1, "square", "{place}广场视频监控系统"),
          (1, "key_unit_area", "{unit_short}周边视频监控系统"),
          (2, "government_service_hall", "{place}便民服务中心视频监控系统")), (6, 30), 8),
    Kind("government", "11",
         ("重庆市南岸区城市管理局{place}管理所", "重庆市南岸区交通运输委员会{place}站"),
         ((1, "bridge", "{place}大桥视频监控系统"), (1, "tunnel", "{place}隧道视频监控系统"),
          (1, "underpass", "{street}下穿道视频监控系统"),
          (1, "boundary_road", "{place}区界道路视频监控系统")), (6, 24), 5),
    Kind("enterprise", "91", ("重庆{place}公共交通有限公司", "重庆{place}巴士有限公司"),
         ((4, "passenger_coach", "{n}路公交车载视频监控系统"),
          (3, "coach_station", "{place}公交枢纽站视频监控系统")), (12, 80), 6),
    Kind("enterprise", "91", ("重庆{place}轨道交通运营有限公司",),
         ((3, "urban_rail_station", "轨道交通{place}站视频监控系统"),
          (4, "urban_rail_vehicle", "环线第{n}列车车载视频监控系统")), (20, 90), 2),
    Kind("enterprise", "91", ("重庆{place}游船有限公司", "重庆{place}港务有限公司"),
         ((4, "passenger_ship", "{unit_short}{n}号游船视频监控系统"),
          (3, "passenger_port", "{place}客运码头视频监控系统")), (6, 30), 2),
    Kind("enterprise", "91", ("重庆{place}高速公路服务有限公司",),
         ((5, "expressway_service_area", "{place}高速服务区视频监控系统"),
          (5, "trunk_road_service_area", "G319{place}服务区视频监控系统")), (10, 40), 2),
    Kind("enterprise", "91", ("重庆{place}铁路客运服务有限公司",),
         ((3, "railway_station", "重庆东站{place}进站口视频监控系统"),
          (4, "passenger_train", "渝{n}次列车车载视频监控系统")), (20, 60), 1),
    Kind("enterprise", "91", ("重庆{place}文化旅游发展有限公司", "重庆{place}体育文化有限公司"),
         ((2, "tourist_site", "{place}景区视频监控系统"), (2, "venue", "{place}体育馆视频监控系统"),
          (2, "park", "{place}公园视频监控系统"),
          (2, "exhibition_centre", "{place}会展中心视频监控系统")), (8, 45), 5),
    Kind("individual_business", "92", ("南岸区{place}{name}网吧", "南岸区{place}{name}超市"),
         ((2, "other_gathering", "{unit_short}店内视频监控系统"),), (2, 8), 12),
    Kind("enterprise", "91", ("重庆{place}酒店管理有限公司", "重庆{place}物业服务有限公司"),
         ((2, "other_gathering", "{unit_short}大堂及公共区域视频监控系统"),
          (2, "public_car_park", "{unit_short}停车场视频监控系统")), (6, 36), 10),
    Kind("social_organization", "52",
         ("重庆市南岸区{place}养老服务中心", "重庆市南岸区{place}培训学校"),
         ((2, "other_gathering", "{unit_short}公共区域视频监控系统"),
          (2, "education", "{unit_short}教学区视频监控系统")), (4, 20), 3),
)  # fmt: skip
DEVICE_TYPES = (
    ("fixed_bullet", 40), ("dome", 18), ("half_dome", 22), ("ptz_bullet", 6),
    ("ptz_half_dome", 6), ("panoramic", 5), ("other", 3),
)  # fmt: skip
SPOTS = (
    ("出入口", False), ("大门", False), ("停车场", False), ("广场", False), ("周界", False),
    ("大厅", True), ("电梯厅", True), ("走廊", True), ("楼梯间", True), ("收银台", True),
    ("候车区", True), ("站台", False), ("车厢", True), ("通道", True), ("道路", False),
)  # fmt: skip
PHASES = "一二三四五六七八九十"
# Art. 8 places: a few such cameras make the demo show the police-review warning.
FORBIDDEN_SPOTS = ("员工更衣室门口", "员工宿舍楼道")


@dataclass
class UnitPlan:
    uscc: str
    name: str
    short: str
    kind: Kind
    place: str
    street: str
    fields: dict[str, Any] = field(default_factory=dict)


class Maker:
    """Draws units, systems and devices; every random choice goes through `self.random`."""

    def __init__(self, seed: int = 500108) -> None:
        self.random = random.Random(seed)
        self.serial = 0
        self.names: set[str] = set()

    def person(self) -> str:
        return self.random.choice(SURNAMES) + "".join(self.random.sample(GIVEN, 2))

    def phone(self) -> str:
        if self.random.random() < 0.5:
            return f"023-6{self.random.randrange(10**6, 10**7):07d}"
        return f"1{self.random.choice('3589')}{self.random.randrange(10**8, 10**9)}"

    def uscc(self, prefix: str) -> str:
        body = prefix + DIVISION + "".join(self.random.choices(USCC_ALPHABET, k=9))
        return body + uscc_check_char(body)

    def unit(self, kind: Kind | None = None) -> UnitPlan:
        kind = kind or self.random.choices(KINDS, weights=[k.weight for k in KINDS])[0]
        while True:
            place, street = self.random.choice(PLACES), self.random.choice(STREETS)
            pattern = self.random.choice(kind.names)
            name = pattern.format(place=place, name=self.person()[1:] + "记", street=street)
            if name not in self.names:
                break
            name = pattern.format(
                place=place + self.random.choice("东西南北新"), name="", street=""
            )
            if name not in self.names:
                break
        self.names.add(name)
        short = name.removeprefix("重庆市南岸区").removeprefix("重庆").removeprefix("南岸区")
        short = short.replace("有限公司", "").replace("人民政府", "").replace("办事处", "")
        plan = UnitPlan(self.uscc(kind.uscc_prefix), name, short, kind, place, street)
        plan.fields = {
            "uscc": plan.uscc,
            "name": name,
            "unit_type": kind.unit_type,
            "address": f"重庆市南岸区{street}{self.random.randrange(1, 300)}号",
            "division_code": DIVISION,
            "legal_representative": self.person(),
            "contact_name": self.person(),
            "contact_phone": self.phone(),
            "authorization_letter_id": None,
            "business_licence_id": None,
        }
        return plan

    def system(self, unit: UnitPlan, index: int, commissioned_on: Any) -> dict[str, Any]:
        # In turn, so a unit with a few systems has one of each of its kind's places.
        category, place_type, pattern = unit.kind.systems[index % len(unit.kind.systems)]
        phase = index // len(unit.kind.systems)
        place = unit.place if phase == 0 else self.random.choice(PLACES)
        name = pattern.format(unit_short=unit.short, n=index + 1, place=place, street=unit.street)
        if phase and "{n}" not in pattern:
            name = name.replace("视频监控系统", f"{PHASES[phase % len(PHASES)]}期视频监控系统")
        return {
            "unit_uscc": unit.uscc,
            "name": name,
            "place_category": category,
            "place_type": place_type,
            "address": f"重庆市南岸区{unit.street}{self.random.randrange(1, 400)}号",
            "division_code": DIVISION,
            "longitude": round(106.56 + self.random.random() * 0.2, 5),
            "latitude": round(29.45 + self.random.random() * 0.12, 5),
            "commissioned_on": commissioned_on,
            "storage_days": self.random.choice((30, 30, 60, 90, 90, 180)),
            "collection_area": f"{name.removesuffix('视频监控系统')}出入口、公共区域及周边",
            "outsourced_to": (
                f"重庆{self.random.choice(PLACES)}安防科技有限公司"
                if self.random.random() < 0.3
                else None
            ),
        }

    def camera_count(self, unit: UnitPlan) -> int:
        low, high = unit.kind.cameras
        return max(1, int(self.random.triangular(low / 2, high, low)))

    def devices(self, system: dict[str, Any], count: int) -> list[dict[str, Any]]:
        devices = []
        for number in range(1, count + 1):
            spot, indoor = self.random.choice(SPOTS)
            if self.random.random() < 0.002:
                spot, indoor = self.random.choice(FORBIDDEN_SPOTS), True
            self.serial += 1
            device_id = None
            if self.random.random() < 0.75:
                camera = self.random.choice(("131", "132"))
                industry = self.random.choice(("00", "01", "02", "03", "05", "07"))
                device_id = f"{DIVISION}00{industry}{camera}{self.random.randrange(2)}"
                device_id += f"{self.serial % 1_000_000:06d}"
            device_type = self.random.choices(
                [t for t, _w in DEVICE_TYPES], weights=[w for _t, w in DEVICE_TYPES]
            )[0]
            devices.append(
                {
                    "device_id": device_id,
                    "name": f"{spot}{number}号摄像机",
                    "address": f"{system['address']}{spot}",
                    "longitude": system["longitude"],
                    "latitude": system["latitude"],
                    "device_type": device_type,
                    "indoor": indoor,
                    "face_capture": self.random.random() < 0.12,
                    "storage_days": system["storage_days"],
                }
            )
        return devices
