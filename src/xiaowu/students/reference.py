"""Code tables of the national student-register template (analytics.md §6)."""

from __future__ import annotations

from django.db import models

# GB 3304-1991 民族 codes.
ETHNICITIES: tuple[tuple[str, str], ...] = (
    ("01", "汉族"),
    ("02", "蒙古族"),
    ("03", "回族"),
    ("04", "藏族"),
    ("05", "维吾尔族"),
    ("06", "苗族"),
    ("07", "彝族"),
    ("08", "壮族"),
    ("09", "布依族"),
    ("10", "朝鲜族"),
    ("11", "满族"),
    ("12", "侗族"),
    ("13", "瑶族"),
    ("14", "白族"),
    ("15", "土家族"),
    ("16", "哈尼族"),
    ("17", "哈萨克族"),
    ("18", "傣族"),
    ("19", "黎族"),
    ("20", "傈僳族"),
    ("21", "佤族"),
    ("22", "畲族"),
    ("23", "高山族"),
    ("24", "拉祜族"),
    ("25", "水族"),
    ("26", "东乡族"),
    ("27", "纳西族"),
    ("28", "景颇族"),
    ("29", "柯尔克孜族"),
    ("30", "土族"),
    ("31", "达斡尔族"),
    ("32", "仫佬族"),
    ("33", "羌族"),
    ("34", "布朗族"),
    ("35", "撒拉族"),
    ("36", "毛南族"),
    ("37", "仡佬族"),
    ("38", "锡伯族"),
    ("39", "阿昌族"),
    ("40", "普米族"),
    ("41", "塔吉克族"),
    ("42", "怒族"),
    ("43", "乌孜别克族"),
    ("44", "俄罗斯族"),
    ("45", "鄂温克族"),
    ("46", "德昂族"),
    ("47", "保安族"),
    ("48", "裕固族"),
    ("49", "京族"),
    ("50", "塔塔尔族"),
    ("51", "独龙族"),
    ("52", "鄂伦春族"),
    ("53", "赫哲族"),
    ("54", "门巴族"),
    ("55", "珞巴族"),
    ("56", "基诺族"),
    ("97", "其他"),
    ("98", "外国血统中国籍人士"),
)
# Old names still found in files exported by older systems.
ETHNICITY_ALIASES = {"毛难族": "36", "崩龙族": "46"}
ETHNICITY_BY_NAME = {name: code for code, name in ETHNICITIES} | ETHNICITY_ALIASES

# GB/T 2260 province-level codes: the first two digits of every region code.
PROVINCES: dict[str, str] = {
    "11": "北京市",
    "12": "天津市",
    "13": "河北省",
    "14": "山西省",
    "15": "内蒙古自治区",
    "21": "辽宁省",
    "22": "吉林省",
    "23": "黑龙江省",
    "31": "上海市",
    "32": "江苏省",
    "33": "浙江省",
    "34": "安徽省",
    "35": "福建省",
    "36": "江西省",
    "37": "山东省",
    "41": "河南省",
    "42": "湖北省",
    "43": "湖南省",
    "44": "广东省",
    "45": "广西壮族自治区",
    "46": "海南省",
    "50": "重庆市",
    "51": "四川省",
    "52": "贵州省",
    "53": "云南省",
    "54": "西藏自治区",
    "61": "陕西省",
    "62": "甘肃省",
    "63": "青海省",
    "64": "宁夏回族自治区",
    "65": "新疆维吾尔自治区",
    "71": "台湾省",
    "81": "香港特别行政区",
    "82": "澳门特别行政区",
}


class IdDocumentType(models.TextChoices):
    RESIDENT_ID = "1", "居民身份证"
    HONG_KONG = "6", "香港特区护照/身份证明"
    MACAO = "7", "澳门特区护照/身份证明"
    TAIWAN = "8", "台湾居民来往大陆通行证"
    FOREIGN_RESIDENCE = "9", "境外永久居住证"
    PASSPORT = "A", "护照"
    OTHER = "Z", "其他"


class StudyMode(models.TextChoices):
    DAY = "1", "走读"
    BOARDING = "2", "住校"


class HealthStatus(models.TextChoices):
    GOOD = "1", "健康或良好"
    FAIR = "2", "一般或较弱"
    CHRONIC = "3", "有慢性病"
    DISABLED = "6", "残疾"


class LeftBehind(models.TextChoices):
    NO = "0", "非留守儿童"
    ONE_PARENT = "1", "单亲留守儿童"
    BOTH_PARENTS = "2", "双亲留守儿童"


class OverseasStatus(models.TextChoices):
    NONE = "00", "否"
    HONG_KONG = "11", "香港同胞"
    HONG_KONG_RELATIVE = "12", "香港同胞亲属"
    MACAO = "13", "澳门同胞"
    MACAO_RELATIVE = "14", "澳门同胞亲属"
    TAIWAN = "15", "台湾同胞"
    TAIWAN_RELATIVE = "16", "台湾同胞亲属"
    OVERSEAS_CHINESE = "21", "华侨"
    OVERSEAS_RELATIVE = "22", "侨眷"
    RETURNED_OVERSEAS = "23", "归侨"
    RETURNED_CHILD = "24", "归侨子女"
    RETURNED_STUDENT = "25", "归国留学人员"
    NON_HAN_FOREIGNER = "31", "非华裔中国人"
    FOREIGN_CHINESE = "41", "外籍华裔人"
    FOREIGNER = "51", "外国人"
    OTHER = "99", "其他"


class DisabilityType(models.TextChoices):
    VISUAL = "1", "视力残疾"
    HEARING = "2", "听力残疾"
    SPEECH = "3", "言语残疾"
    PHYSICAL = "4", "肢体残疾"
    INTELLECTUAL = "5", "智力残疾"
    MENTAL = "6", "精神残疾"
    MULTIPLE = "7", "多重残疾"
    OTHER = "9", "其他残疾"
