"""Word lists for the demo generator: Chinese names, unit names, places.

Surname weights roughly follow the published frequency ranking. Given names depend on
the birth cohort (秀英 and 建国 are names of grandparents, 梓涵 of schoolchildren). A few
names carry CJK Extension A characters (㛃, 䶮 ...) that GBK cannot encode but GB18030
can, so a reader that decodes a partner's "GBK" file with the ``gbk`` codec fails.
"""
from __future__ import annotations

from bisect import bisect

SURNAMES: tuple[tuple[str, float], ...] = (
    ("王", 7.1), ("李", 7.0), ("张", 6.7), ("刘", 5.4), ("陈", 4.5), ("杨", 3.1),
    ("黄", 2.2), ("赵", 2.1), ("吴", 2.0), ("周", 1.9), ("徐", 1.5), ("孙", 1.5),
    ("马", 1.4), ("朱", 1.3), ("胡", 1.3), ("郭", 1.2), ("何", 1.2), ("高", 1.1),
    ("林", 1.1), ("罗", 1.0), ("郑", 1.0), ("梁", 1.0), ("谢", 0.8), ("宋", 0.8),
    ("唐", 0.8), ("许", 0.7), ("韩", 0.7), ("冯", 0.7), ("邓", 0.7), ("曹", 0.7),
    ("彭", 0.6), ("曾", 0.6), ("肖", 0.6), ("田", 0.6), ("董", 0.5), ("袁", 0.5),
    ("潘", 0.5), ("于", 0.5), ("蒋", 0.5), ("蔡", 0.5), ("余", 0.5), ("杜", 0.5),
    ("叶", 0.5), ("程", 0.5), ("苏", 0.4), ("魏", 0.4), ("吕", 0.4), ("丁", 0.4),
    ("任", 0.4), ("沈", 0.4), ("姚", 0.4), ("卢", 0.4), ("姜", 0.4), ("崔", 0.3),
    ("钟", 0.3), ("谭", 0.3), ("陆", 0.3), ("汪", 0.3), ("范", 0.3), ("金", 0.3),
    ("石", 0.3), ("廖", 0.3), ("贾", 0.3), ("夏", 0.3), ("韦", 0.3), ("付", 0.3),
    ("方", 0.3), ("白", 0.3), ("邹", 0.3), ("孟", 0.2), ("熊", 0.2), ("秦", 0.2),
    ("邱", 0.2), ("江", 0.2), ("尹", 0.2), ("薛", 0.2), ("闫", 0.2), ("段", 0.2),
    ("雷", 0.2), ("侯", 0.2), ("龙", 0.2), ("史", 0.2), ("陶", 0.2), ("黎", 0.2),
    ("贺", 0.2), ("顾", 0.2), ("毛", 0.2), ("郝", 0.2), ("龚", 0.2), ("邵", 0.2),
    ("万", 0.2), ("钱", 0.2), ("严", 0.2), ("覃", 0.2), ("武", 0.2), ("戴", 0.2),
    ("莫", 0.2), ("孔", 0.2), ("向", 0.1), ("汤", 0.1), ("欧阳", 0.05), ("司马", 0.02),
)

OLD_MALE = ("建国 建华 建军 国强 国庆 志强 志刚 德明 德胜 文华 永强 卫东 红军 保国 振华 "
            "春生 金水 长青 福生 海生 根生 水生 树林 玉林 炳坤 国良 家明 伟民 光明 德华").split()
OLD_FEMALE = ("秀英 桂英 秀兰 玉兰 桂兰 淑珍 淑英 凤英 玉珍 秀珍 玉梅 秀云 桂芳 丽华 美华 "
              "秀梅 金凤 翠兰 月娥 爱华 秀琴 素珍 惠珍 玉英 桂珍 淑兰 凤兰 冬梅").split()
MALE_CHARS = tuple("伟强磊军勇杰涛明超刚平辉鹏华飞鑫波斌宇浩凯健俊帆帅旭宁龙林阳建国志文海峰东亮成晨博新宏振家天嘉睿泽思皓昊轩")
FEMALE_CHARS = tuple("芳娜敏静丽艳娟霞秀英玲桂兰燕萍红梅琳雪婷莉慧颖洁佳倩晶月琴云丹蓉欣怡雨涵诗梓可馨悦彤璐")
YOUNG_MALE = ("子轩 浩然 宇轩 梓豪 俊熙 皓轩 睿泽 一鸣 博文 天佑 嘉懿 明哲 思远 浩宇 子墨").split()
YOUNG_FEMALE = ("梓涵 欣怡 诗涵 可馨 雨桐 一诺 思彤 语嫣 梓萱 佳怡 若汐 紫涵 欣妍 雨欣 子琪").split()

# CJK Extension A: outside GBK, inside GB18030 (four-byte sequences).
RARE_CHARS = tuple("㛃䶮㙟㻞㵘")

# Homophone substitutions (identical toneless pinyin), the typical clerk's typo.
HOMOPHONES = {
    "伟": "玮", "静": "靖", "丽": "莉", "杰": "洁", "涛": "韬", "军": "君", "华": "桦",
    "娟": "鹃", "明": "鸣", "峰": "锋", "勇": "永", "芳": "方", "红": "虹", "燕": "艳",
    "平": "萍", "斌": "彬", "晨": "辰", "婷": "亭", "慧": "惠", "琳": "霖", "俊": "骏",
}
# Given-name characters with no homophone in HOMOPHONES and distinct pinyin from each
# other, for names that must *not* look alike.
PLAIN_MALE = tuple("强磊刚鹏飞鑫波宇浩凯帆帅旭宁龙阳")
PLAIN_FEMALE = tuple("娜敏艳霞秀英玲兰萍梅雪倩晶琴云丹")

UNIT_WORDS = tuple("恒达鸿运华兴金桥瑞丰宏图永信新元东方南粤鹏程嘉禾盛世天诚润泽海纳卓越信众合博雅安泰和顺利民佳美中联百川广源俊发正通德")
INDUSTRIES = ("建材", "物流", "电子", "科技", "餐饮", "商贸", "服装", "印刷", "装饰", "机械",
              "医药", "食品", "物业管理", "家政服务", "五金", "塑胶", "软件", "环保", "汽车服务",
              "文化传媒", "珠宝", "供应链", "劳务派遣", "酒店管理")
UNIT_SUFFIXES = (("有限公司", 0.8), ("有限责任公司", 0.15), ("股份有限公司", 0.05))
STREETS = ("东门街道", "南湖街道", "桂园街道", "黄贝街道", "东晓街道", "翠竹街道", "莲塘街道",
           "清水河街道", "笋岗街道", "东湖街道")
ROADS = ("深南东路", "人民南路", "解放路", "建设路", "宝安南路", "红岭中路", "爱国路", "布心路",
         "太宁路", "沿河北路", "文锦中路", "翠竹路")
FUNERAL_HOMES = ("深圳市殡仪馆", "深圳市殡仪馆", "深圳市殡仪馆", "深圳市宝安区殡仪馆", "梅州市殡仪馆")
SCHOOLS = {
    "一年级": ("罗湖区翠竹小学", "罗湖区螺岭外国语实验学校", "罗湖区东湖小学", "罗湖区红岭小学"),
    "七年级": ("罗湖区桂园中学", "罗湖区翠园初级中学", "罗湖区滨河实验中学"),
    "高一": ("深圳市翠园中学", "深圳市第三高级中学", "罗湖区行知职业技术学校"),
}


class NameMaker:
    """Draws realistic names from one ``random.Random`` (deterministic for a seed)."""

    def __init__(self, rng, rare_rate: float = 1 / 1500):
        self.rng = rng
        self.rare_rate = rare_rate
        self._surnames = [s for s, _ in SURNAMES]
        acc, cum = 0.0, []
        for _, w in SURNAMES:
            acc += w
            cum.append(acc)
        self._cum = cum
        self._total = acc

    def surname(self) -> str:
        return self._surnames[bisect(self._cum, self.rng.random() * self._total)]

    def given(self, male: bool, birth_year: int) -> str:
        r = self.rng.random
        x = r()
        if birth_year < 1965 and x < 0.45:
            pool = OLD_MALE if male else OLD_FEMALE
            g = pool[int(r() * len(pool))]
        elif birth_year >= 2005 and x < 0.35:
            pool = YOUNG_MALE if male else YOUNG_FEMALE
            g = pool[int(r() * len(pool))]
        else:
            pool = MALE_CHARS if male else FEMALE_CHARS
            n = len(pool)
            g = pool[int(r() * n)]
            if r() < 0.65:
                g += pool[int(r() * n)]
        if r() < self.rare_rate:
            g = g[:-1] + self.rng.choice(RARE_CHARS) if len(g) > 1 else g + self.rng.choice(RARE_CHARS)
        return g

    def name(self, male: bool, birth_year: int) -> str:
        return self.surname() + self.given(male, birth_year)

    def homophone_name(self, male: bool) -> tuple[str, str]:
        """A name with a homophone twin: (name as registered, name as mistyped)."""
        keys = [c for c in HOMOPHONES if c in (MALE_CHARS if male else FEMALE_CHARS)]
        c = self.rng.choice(keys)
        pool = PLAIN_MALE if male else PLAIN_FEMALE
        given = c if self.rng.random() < 0.5 else self.rng.choice(pool) + c
        s = self.surname()
        return s + given, s + given.replace(c, HOMOPHONES[c])

    def plain_name(self, male: bool) -> str:
        pool = PLAIN_MALE if male else PLAIN_FEMALE
        return self.surname() + self.rng.choice(pool) + self.rng.choice(pool)

    def rare_name(self, male: bool) -> str:
        pool = MALE_CHARS if male else FEMALE_CHARS
        return self.surname() + self.rng.choice(pool) + self.rng.choice(RARE_CHARS)
