"""A labelled, deterministic set of Chinese customers with duplicates made the way real data gets dirty.

    from benchmarks.chinese_customers import generate
    data = generate(20_000, seed=2)      # data.records (matching.Record), data.entity (label per record)

Businesses (seafood, FMCG, electronics, restaurants, retail) and individuals across real provinces,
cities and districts. An entity gets one record or several; each extra record is a dirty copy:
short name vs full legal name, another legal form, region prefix dropped/added or in brackets,
traditional characters, full-width characters, homophone or plain typos, mobiles in Excel and
international formats, missing fields, another contact person. The traps are separate entities on
purpose: the same brand in another city, branches of one chain in one city, common person names
(张伟, 王芳 …) in the same city, and brands that differ by one character.

Two records are duplicates exactly when they share ``entity``. The same seed gives the same set.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from functools import cache

import opencc
from pypinyin import Style, lazy_pinyin

from pearl.dataquality.matching import Record

# (province, city, districts): real divisions across China, most weight on 广东 like Pearl's users.
REGIONS: list[tuple[str, str, tuple[str, ...], int]] = [
    (
        "广东省",
        "广州市",
        ("天河区", "越秀区", "海珠区", "荔湾区", "白云区", "番禺区", "黄埔区", "花都区", "南沙区"),
        30,
    ),
    ("广东省", "深圳市", ("福田区", "罗湖区", "南山区", "宝安区", "龙岗区", "盐田区"), 14),
    ("广东省", "佛山市", ("禅城区", "南海区", "顺德区", "三水区", "高明区"), 8),
    ("广东省", "东莞市", ("莞城区",), 5),
    ("广东省", "珠海市", ("香洲区", "斗门区", "金湾区"), 3),
    ("广东省", "汕头市", ("金平区", "龙湖区", "濠江区"), 2),
    ("广东省", "湛江市", ("赤坎区", "霞山区", "麻章区"), 2),
    ("广西壮族自治区", "南宁市", ("青秀区", "兴宁区", "江南区"), 3),
    ("海南省", "海口市", ("龙华区", "美兰区", "秀英区"), 2),
    ("福建省", "厦门市", ("思明区", "湖里区", "集美区"), 3),
    ("福建省", "福州市", ("鼓楼区", "台江区", "仓山区"), 3),
    ("湖南省", "长沙市", ("岳麓区", "芙蓉区", "天心区", "开福区"), 3),
    ("浙江省", "杭州市", ("西湖区", "上城区", "拱墅区", "滨江区"), 3),
    ("浙江省", "宁波市", ("鄞州区", "海曙区", "北仑区"), 2),
    ("江苏省", "南京市", ("玄武区", "秦淮区", "鼓楼区", "建邺区"), 3),
    ("江苏省", "苏州市", ("姑苏区", "虎丘区", "吴中区"), 2),
    ("上海市", "上海市", ("浦东新区", "徐汇区", "闵行区", "静安区"), 4),
    ("北京市", "北京市", ("朝阳区", "海淀区", "丰台区", "东城区"), 4),
    ("四川省", "成都市", ("锦江区", "武侯区", "成华区", "青羊区"), 3),
    ("湖北省", "武汉市", ("江汉区", "武昌区", "洪山区"), 3),
    ("江西省", "南昌市", ("东湖区", "西湖区", "青山湖区"), 1),
    ("云南省", "昆明市", ("五华区", "盘龙区", "官渡区"), 1),
    ("山东省", "青岛市", ("市南区", "市北区", "黄岛区"), 2),
    ("辽宁省", "大连市", ("中山区", "西岗区", "沙河口区"), 1),
    ("河南省", "郑州市", ("金水区", "二七区", "中原区"), 1),
]
ROADS = [
    "人民路",
    "中山路",
    "解放路",
    "建设路",
    "滨江路",
    "环市路",
    "工业大道",
    "沿江路",
    "新华路",
    "东风路",
    "海滨路",
    "港口路",
    "市场路",
    "金沙路",
    "华南路",
    "南华路",
    "文明路",
    "民生路",
    "和平路",
    "江南大道",
    "黄沙大道",
    "新港西路",
    "迎宾大道",
    "渔港路",
    "天河路",
    "体育西路",
    "五一路",
    "长江路",
    "黄河路",
    "青年路",
    "光明路",
    "幸福路",
    "朝阳路",
    "友谊路",
    "胜利路",
    "跃进路",
    "北京路",
    "上海路",
    "广州大道",
    "科技园路",
]
BUILDINGS = ("", "", "", "商务大厦", "国际广场", "水产批发市场", "电子城", "食品城", "写字楼", "综合楼")
# Brands: two (most) or three characters from these; collisions between unrelated businesses happen,
# as they do in a real million-customer base.
BRAND_CHARS = (
    "鑫海金湾福祥顺丰盛隆兴旺达利源泰宏昌德华富贵荣鸿嘉润鼎恒升发美佳安康宝洋港渔鲜蓝江湖粤珠"
    "南东新永满聚诚信益众汇通联合星月阳光明天成家和瑞龙凤麒麟锦绣志远航宇博创腾飞卓越"
)
# Sector → (customer type, [(full trade words, short trade words)], legal forms)
SECTORS: dict[str, tuple[str, list[tuple[str, str]], int]] = {
    "seafood": (
        "批发",
        [
            ("水产", "水产"),
            ("海产品贸易", "海产"),
            ("冻品批发部", "冻品"),
            ("水产商行", "水产"),
            ("渔业", "渔业"),
            ("海鲜", "海鲜"),
        ],
        24,
    ),
    "restaurant": (
        "餐饮",
        [
            ("海鲜酒楼", "酒楼"),
            ("酒家", "酒家"),
            ("海鲜大排档", "大排档"),
            ("餐饮管理", "餐饮"),
            ("食府", "食府"),
            ("酒楼", "酒楼"),
            ("海鲜火锅店", "火锅"),
        ],
        22,
    ),
    "fmcg": (
        "经销",
        [
            ("食品", "食品"),
            ("粮油贸易", "粮油"),
            ("副食品批发部", "副食"),
            ("日化用品", "日化"),
            ("酒水商行", "酒水"),
            ("食品贸易", "食品"),
        ],
        20,
    ),
    "electronics": (
        "经销",
        [
            ("电子科技", "电子"),
            ("电器", "电器"),
            ("数码科技", "数码"),
            ("通讯设备", "通讯"),
            ("电子商务", "电商"),
            ("电子元器件", "电子"),
        ],
        18,
    ),
    "retail": ("零售", [("超市", "超市"), ("便利店", "便利店"), ("生鲜超市", "超市"), ("百货商店", "百货")], 16),
}
LEGAL = ("有限公司", "有限公司", "有限公司", "有限责任公司", "股份有限公司", "")
LEGAL_VARIANTS = {
    "有限公司": ("有限责任公司", ""),
    "有限责任公司": ("有限公司",),
    "股份有限公司": ("有限公司", "股份公司"),
    "": ("有限公司",),
}
CHAINS = [
    ("永辉", "超市"),
    ("华润万家", "超市"),
    ("美宜佳", "便利店"),
    ("钱大妈", "生鲜店"),
    ("百果园", "水果店"),
    ("天虹", "商场"),
    ("苏宁", "电器"),
    ("国美", "电器"),
    ("大润发", "超市"),
    ("周黑鸭", "食品店"),
    ("见福", "便利店"),
    ("蜜雪冰城", "饮品店"),
    ("鑫海", "海鲜酒楼"),
    ("盒马", "鲜生"),
]
BRANCHES = [
    "五一",
    "万达",
    "天河",
    "北京路",
    "东风",
    "五山",
    "江南西",
    "体育西",
    "人民",
    "中山",
    "解放",
    "步行街",
    "火车站",
    "机场",
    "高新",
    "大学城",
    "海岸城",
    "万象城",
    "宝龙",
    "龙湖",
    "星河",
    "黄沙",
    "白云",
    "新港",
    "滨江",
    "东门",
    "西门",
    "南门",
    "北门",
    "世纪城",
    "会展",
]
SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗梁郑谢宋唐许邓冯韩曹彭萧蔡潘田董袁于余叶蒋杜苏魏程"
    "吕丁沈任姚卢钟姜崔谭陆范汪廖石金韦贾夏方邹熊白孟秦邱侯江尹薛段雷黎史龙陶贺顾毛郝龚邵万覃"
)
GIVEN = [
    "伟",
    "芳",
    "娜",
    "敏",
    "静",
    "丽",
    "强",
    "磊",
    "军",
    "洋",
    "勇",
    "艳",
    "杰",
    "娟",
    "涛",
    "明",
    "超",
    "秀英",
    "华",
    "平",
    "刚",
    "桂英",
    "建华",
    "志强",
    "国强",
    "丽娟",
    "海燕",
    "小红",
    "晓明",
    "文杰",
    "俊杰",
    "嘉欣",
    "子轩",
    "浩然",
    "思远",
    "秋菊",
    "美玲",
    "金凤",
    "德明",
    "永强",
    "建国",
    "宏伟",
    "振华",
    "少华",
    "伟东",
    "国华",
    "冬梅",
    "春梅",
    "婷婷",
    "丽华",
    "晓东",
    "志明",
    "锦辉",
    "炳坤",
    "耀华",
    "家豪",
    "嘉怡",
    "惠玲",
]
COMMON_NAMES = [
    "张伟",
    "王伟",
    "王芳",
    "李伟",
    "李娜",
    "张敏",
    "李静",
    "王静",
    "刘伟",
    "王秀英",
    "张丽",
    "李强",
    "王磊",
    "刘洋",
    "陈静",
]
MOBILE_PREFIXES = [
    "130",
    "131",
    "132",
    "133",
    "135",
    "136",
    "137",
    "138",
    "139",
    "150",
    "151",
    "152",
    "155",
    "156",
    "157",
    "158",
    "159",
    "166",
    "176",
    "177",
    "180",
    "181",
    "182",
    "183",
    "185",
    "186",
    "187",
    "188",
    "189",
    "191",
    "198",
    "199",
]
# Characters typed for others with the same sound (the homophone typos a salesperson makes).
SOUND_POOL = (
    "鑫新心信欣星兴行金今进锦京晶精经海还嗨湾弯福富付复祥翔详顺舜丰风峰锋盛胜圣升生隆龙笼兴星旺王望"
    "达大利力立丽源元园圆泰太态宏红洪鸿虹昌常长德得华化花富夫贵桂荣容鸿弘嘉佳家加润闰鼎定恒衡升生"
    "发法美梅每佳家安按康抗宝保报洋阳扬港岗渔鱼余鲜先蓝兰江将湖胡虎粤越月珠朱猪南男东冬新心永勇"
    "满曼聚巨诚成城信心益易众中汇会通同联连合和星兴月越阳杨光广明名天田成程家佳和何瑞锐龙隆凤风"
)

_s2t = opencc.OpenCC("s2t")


@cache
def _sound(char: str) -> str:
    return lazy_pinyin(char, style=Style.NORMAL)[0]


@cache
def _homophones() -> dict[str, tuple[str, ...]]:
    groups: dict[str, set[str]] = {}
    for char in SOUND_POOL:
        groups.setdefault(_sound(char), set()).add(char)
    return {c: tuple(sorted(groups[_sound(c)] - {c})) for c in SOUND_POOL if len(groups[_sound(c)]) > 1}


@dataclass
class Dataset:
    records: list[Record] = field(default_factory=list)
    entity: list[int] = field(default_factory=list)  # label: same entity = duplicates
    trap: list[str] = field(default_factory=list)  # "" or the trap the entity was made for

    def true_pairs(self) -> set[tuple[str, str]]:
        by_entity: dict[int, list[str]] = {}
        for record, entity in zip(self.records, self.entity, strict=True):
            by_entity.setdefault(entity, []).append(record.id)
        pairs = set()
        for ids in by_entity.values():
            for i, a in enumerate(ids):
                for b in ids[i + 1 :]:
                    pairs.add((a, b) if a < b else (b, a))
        return pairs


@dataclass
class Entity:
    kind: str
    sector: str = ""
    customer_type: str = ""
    brand: str = ""
    trade: tuple[str, str] = ("", "")
    legal: str = ""
    branch: str = ""
    person: str = ""
    contacts: list[tuple[str, str]] = field(default_factory=list)  # (name, mobile)
    email: str = ""
    wechat: str = ""
    province: str = ""
    city: str = ""
    district: str = ""
    road: str = ""
    number: int = 0
    building: str = ""
    trap: str = ""


class Generator:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.used_mobiles: set[str] = set()
        self.region_weights = [r[3] for r in REGIONS]
        self.sector_names = list(SECTORS)
        self.sector_weights = [SECTORS[s][2] for s in self.sector_names]

    # --- values ---
    def mobile(self) -> str:
        while True:
            number = self.rng.choice(MOBILE_PREFIXES) + f"{self.rng.randrange(10**8):08d}"
            if number not in self.used_mobiles:
                self.used_mobiles.add(number)
                return number

    def person(self) -> str:
        return self.rng.choice(SURNAMES) + self.rng.choice(GIVEN)

    def brand(self) -> str:
        size = 2 if self.rng.random() < 0.6 else 3
        return "".join(self.rng.choice(BRAND_CHARS) for _ in range(size))

    def place(self, entity: Entity, *, other_city_than: str = "", city_of: str = "") -> None:
        while True:
            province, city, districts, _ = self.rng.choices(REGIONS, self.region_weights)[0]
            if city_of:
                province, city, districts, _ = next(r for r in REGIONS if r[1] == city_of)
            if city != other_city_than:
                break
        entity.province, entity.city, entity.district = province, city, self.rng.choice(districts)
        entity.road = self.rng.choice(ROADS)
        entity.number = self.rng.randint(1, 999)
        entity.building = self.rng.choice(BUILDINGS)

    def company(self) -> Entity:
        sector = self.rng.choices(self.sector_names, self.sector_weights)[0]
        customer_type, trades, _ = SECTORS[sector]
        entity = Entity("company", sector, customer_type, self.brand(), self.rng.choice(trades), self.rng.choice(LEGAL))
        self.place(entity)
        entity.contacts = [(self.person(), self.mobile()) for _ in range(self.rng.choice((1, 1, 1, 2)))]
        if self.rng.random() < 0.3:
            entity.email = f"{''.join(_sound(c) for c in entity.brand)}{self.rng.randrange(100)}@163.com"
        if self.rng.random() < 0.3:
            entity.wechat = f"wx_{''.join(_sound(c) for c in entity.brand)}{self.rng.randrange(10000)}"
        return entity

    def individual(self, name: str = "") -> Entity:
        entity = Entity("individual", "individual", "个人", person=name or self.person())
        self.place(entity)
        entity.contacts = [(entity.person, self.mobile())]
        if self.rng.random() < 0.2:
            entity.wechat = f"wxid_{self.rng.randrange(10**9)}"
        return entity

    def chain_branch(self, brand: str, trade: str, city_entity: Entity | None) -> Entity:
        entity = Entity("company", "retail", "零售", brand, (trade, trade), "", trap="chain")
        # Branches of one chain in one city.
        self.place(entity, city_of=city_entity.city if city_entity is not None else "")
        entity.branch = self.rng.choice(BRANCHES)
        entity.contacts = [(self.person(), self.mobile())]
        return entity

    # --- dirty copies ---
    def company_name(self, e: Entity, original: bool) -> tuple[str, str]:
        """(name, short_name) as some salesperson typed them."""
        rng = self.rng
        brand = e.brand
        if not original and rng.random() < 0.12:  # homophone typo
            spots = [i for i, c in enumerate(brand) if c in _homophones()]
            if spots:
                i = rng.choice(spots)
                brand = brand[:i] + rng.choice(_homophones()[brand[i]]) + brand[i + 1 :]
        elif not original and rng.random() < 0.03 and len(brand) >= 3:  # plain typo in a longer brand
            i = rng.randrange(len(brand))
            brand = brand[:i] + rng.choice(BRAND_CHARS) + brand[i + 1 :]
        city_short = e.city[:-1] if e.city.endswith("市") else e.city
        full_trade, short_trade = e.trade
        if e.branch:
            style = rng.randrange(3) if not original else 0
            shop = f"{brand}{full_trade}"
            if style == 0:
                return f"{shop}（{e.branch}店）", ""
            if style == 1:
                return f"{shop}{e.branch}店", ""
            return f"{shop}({e.branch}分店)", ""
        legal = e.legal
        if not original and rng.random() < 0.3:
            legal = rng.choice(LEGAL_VARIANTS[legal])
        prefix = rng.choice((city_short, e.city, f"{e.province}{e.city}", "")) if original or rng.random() < 0.5 else ""
        form = 0 if original else rng.randrange(5)
        short = f"{brand}{short_trade}"
        if form == 0:
            name = f"{prefix}{brand}{full_trade}{legal}"
        elif form == 1:  # region in brackets: 鑫海水产（广州）有限公司
            name = f"{brand}{full_trade}（{city_short}）{legal or '有限公司'}"
        elif form == 2:  # only the short name was typed
            name, short = short, ""
        elif form == 3:  # no legal form
            name = f"{prefix}{brand}{full_trade}"
        else:
            name = f"{prefix}{brand}{full_trade}{legal}"
        if not original and rng.random() < 0.1:
            name = _s2t.convert(name)
        if not original and rng.random() < 0.05:
            name = name.replace("（", "(").replace("）", ")").replace("(", "（ ").replace(")", " ）")
        return name, (short if rng.random() < 0.5 else "")

    def mobile_format(self, number: str) -> str:
        rng = self.rng
        style = rng.randrange(10)
        if style == 0:
            return f"+86 {number[:3]}-{number[3:7]}-{number[7:]}"
        if style == 1:
            return f"{number[:3]} {number[3:7]} {number[7:]}"
        if style == 2:
            return f"{number[0]}.{number[1:]}E10"
        if style == 3:
            return f"{number}.0"
        if style == 4:
            return "".join(chr(ord(c) + 0xFEE0) for c in number)
        if style == 5:
            return f"86-{number}"
        if style == 6:
            return f"{number[:3]}-{number[3:7]}-{number[7:]}"
        return number

    def address(self, e: Entity, original: bool) -> str:
        rng = self.rng
        street = f"{e.road}{e.number}号{e.building}"
        if not original and rng.random() < 0.1:
            street = "".join(chr(ord(c) + 0xFEE0) if c.isdigit() else c for c in street)
        prefix = rng.choice(
            (f"{e.province}{e.city}{e.district}", f"{e.city}{e.district}", e.district, f"{e.city[:-1]}{e.district}", "")
        )
        if e.province == e.city:  # 北京市朝阳区…
            prefix = prefix.replace(e.province + e.city, e.city)
        return prefix + street

    def record(self, e: Entity, rid: str, original: bool) -> Record:
        rng = self.rng
        contacts = list(e.contacts)
        if not original and e.kind == "company" and rng.random() < 0.12:  # another salesperson, another contact
            contacts = [(self.person(), self.mobile())]
        elif not original and rng.random() < 0.04:  # a person with a new number
            contacts = [(e.person, self.mobile())]
        if e.kind == "company":
            name, short = self.company_name(e, original)
        else:
            name, short = e.person, ""
            if not original and rng.random() < 0.1:
                spots = [i for i, c in enumerate(name) if c in _homophones()]
                if spots:
                    i = rng.choice(spots)
                    name = name[:i] + rng.choice(_homophones()[name[i]]) + name[i + 1 :]
            if not original and rng.random() < 0.05:
                name = _s2t.convert(name)
        drop_mobile = not original and rng.random() < (0.2 if e.kind == "company" else 0.08)
        drop_address = not original and rng.random() < 0.25
        drop_region = rng.random() < 0.4
        mobiles = () if drop_mobile else tuple(self.mobile_format(m) for _, m in contacts)
        contact_names = (
            () if (e.kind == "individual" or (not original and rng.random() < 0.2)) else tuple(n for n, _ in contacts)
        )
        return Record(
            id=rid,
            kind=e.kind,
            name=name,
            short_name=short,
            customer_type=e.customer_type,
            contact_names=contact_names,
            mobiles=mobiles,
            emails=(e.email,) if e.email and rng.random() < 0.7 else (),
            wechats=(e.wechat,) if e.wechat and rng.random() < 0.7 else (),
            province="" if drop_region else e.province,
            city="" if drop_region else rng.choice((e.city, e.city[:-1])),
            district="" if drop_region or rng.random() < 0.3 else e.district,
            address="" if drop_address else self.address(e, original),
        )


def _copies(rng: random.Random, duplicate_share: float) -> int:
    if rng.random() >= duplicate_share:
        return 1
    return rng.choices((2, 3, 4), (70, 22, 8))[0]


def generate(size: int, seed: int = 1, *, duplicate_share: float = 0.25, trap_share: float = 0.15) -> Dataset:
    """About ``size`` records; ``duplicate_share`` of entities have 2–4 records; ``trap_share`` are traps."""
    gen = Generator(seed)
    rng = gen.rng
    data = Dataset()
    entity_id = 0
    shops: set[tuple[str, str, str]] = set()

    def emit(entity: Entity) -> None:
        nonlocal entity_id
        for copy in range(_copies(rng, duplicate_share)):
            data.records.append(gen.record(entity, f"c{len(data.records)}", copy == 0))
            data.entity.append(entity_id)
            data.trap.append(entity.trap)
        entity_id += 1

    while len(data.records) < size:
        roll = rng.random()
        if roll < trap_share / 3:  # the same brand (same trade) in another city
            first = gen.company()
            second = gen.company()
            second.brand, second.trade, second.sector, second.legal = (
                first.brand,
                first.trade,
                first.sector,
                first.legal,
            )
            gen.place(second, other_city_than=first.city)
            first.trap = second.trap = "other city"
            emit(first)
            emit(second)
        elif roll < 2 * trap_share / 3:  # two or three branches of a chain in one city
            brand, trade = rng.choice(CHAINS)
            # A chain has one shop of a name in a city: (brand, city, branch) is never drawn twice.
            first = gen.chain_branch(brand, trade, None)
            if (brand, first.city, first.branch) not in shops:
                shops.add((brand, first.city, first.branch))
                emit(first)
                for _ in range(rng.choice((1, 2))):
                    other = gen.chain_branch(brand, trade, first)
                    if (brand, other.city, other.branch) not in shops:
                        shops.add((brand, other.city, other.branch))
                        emit(other)
        elif roll < trap_share:  # a common name, several people in one city
            first = gen.individual(rng.choice(COMMON_NAMES))
            first.trap = "common name"
            emit(first)
            other = gen.individual(first.person)
            other.trap = "common name"
            if rng.random() < 0.7:
                gen.place(other, city_of=first.city)
            emit(other)
        elif roll < trap_share + 0.22:
            emit(gen.individual())
        else:
            emit(gen.company())
    return data
