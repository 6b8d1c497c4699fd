"""Text normalisation that defeats the usual disguises of live-stream comments.

Spammers write 「加 薇 信 ①③⑧…」, 「V❤信」, 「扣扣 一三八一二三四五六七八」 or use full-width
letters so that a naive word list misses them. Every comment is normalised once and the
moderation and classification passes both work on the result:

* NFKC folds full-width forms (ＡＢ１２ → AB12) and most circled/parenthesised digits
  (①⑴⒈ → 1); the dingbat families NFKC leaves alone (❶➀➊⓵) are mapped explicitly;
* case is folded, common traditional characters are mapped to simplified ones and a few
  Cyrillic/Greek look-alikes to Latin letters;
* `compact` drops every character that is not a letter, digit or CJK ideograph, so
  separators inserted between characters (加.薇.信, 加 V) do not split a word;
* `digits` spells Chinese numerals out (一三八… / 壹叁捌… / 幺 → 138…) inside runs of at
  least four numerals (single separators allowed), so numbers written in words are seen.

Everything here is pure `str.translate` / regex work (C loops), a few microseconds each.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

# Dingbat digits NFKC does not fold.
_DINGBATS: dict[int, str] = {}
for _base in (0x2776, 0x2780, 0x278A):  # ❶..❿  ➀..➉  ➊..➓
    for _i in range(10):
        _DINGBATS[_base + _i] = str((_i + 1) % 10)
for _i in range(10):  # ⓵..⓾
    _DINGBATS[0x24F5 + _i] = str((_i + 1) % 10)
_DINGBATS[0x24FF] = "0"  # ⓿
_DINGBATS[0x24EA] = "0"  # ⓪

# Traditional → simplified for the characters that actually occur in comments (a full
# OpenCC table would be 100× larger for no gain in recall here).
_TRAD = "請問價貴說嗎還沒貨運費怎麼樣嘅係靚幾號連結買賣謝單個這們會對過後點錢發遞寄換實際質感顏歡聽開關無當訊貸現種從時間長門題東車幫紅給級讓聯絡話網頁難應該裡裏讀寫與為麗漂亮愛喜優惠廣告騙傻滾醜噁標準碼尺寸適合穿戴膚護膠鐘錶機電腦腳襪褲裙鞋帶紙盒罐瓶裝箱斤兩貼顆條塊張雙對臺灣們週圍訂購單據務處理退換寶貝貨運輸遲慢壞爛碎漏缺少錯誤問題質量差評騙子垃圾聲響讚棒還沒到現在員專業細緻簡單減價錢券領搶秒殺抽獎贈送禮來"  # noqa: E501
_SIMP = "请问价贵说吗还没货运费怎么样嘅系靓几号连结买卖谢单个这们会对过后点钱发递寄换实际质感颜欢听开关无当讯贷现种从时间长门题东车帮红给级让联络话网页难应该里里读写与为丽漂亮爱喜优惠广告骗傻滚丑恶标准码尺寸适合穿戴肤护胶钟表机电脑脚袜裤裙鞋带纸盒罐瓶装箱斤两贴颗条块张双对台湾们周围订购单据务处理退换宝贝货运输迟慢坏烂碎漏缺少错误问题质量差评骗子垃圾声响赞棒还没到现在员专业细致简单减价钱券领抢秒杀抽奖赠送礼来"  # noqa: E501
assert len(_TRAD) == len(_SIMP)

_LOOKALIKES = {
    # Cyrillic and Greek letters that render like Latin ones.
    "а": "a",
    "е": "e",
    "о": "o",
    "р": "p",
    "с": "c",
    "х": "x",
    "у": "y",
    "і": "i",
    "к": "k",
    "м": "m",
    "т": "t",
    "в": "b",
    "ν": "v",
    "ο": "o",
    "α": "a",
    "ι": "i",
    "κ": "k",
    "ρ": "p",
    "τ": "t",
    "χ": "x",
    # Symbols used as letters/words in contact solicitation.
    "➕": "+",
    "＋": "+",
    "﹢": "+",
    "✚": "+",
    "🛰": "卫星",  # 卫星 sounds like 微信
    "💚": "",
    "\u200b": "",
    "\u200c": "",
    "\u200d": "",
    "\ufe0f": "",
    "\u2060": "",
}

_TABLE: dict[int, str] = {ord(t): s for t, s in zip(_TRAD, _SIMP, strict=True)}
_TABLE.update(_DINGBATS)
_TABLE.update({ord(k): v for k, v in _LOOKALIKES.items()})

_NEEDS_TABLE = re.compile("[" + "".join(re.escape(chr(c)) for c in sorted(_TABLE)) + "]")

_CN_DIGITS = "〇零一二三四五六七八九壹贰叁肆伍陆柒捌玖貳參陸幺两兩"
_CN_VALUES = "00123456789123456789236122"
assert len(_CN_DIGITS) == len(_CN_VALUES)
_CN_TABLE = {ord(c): v for c, v in zip(_CN_DIGITS, _CN_VALUES, strict=True)}
_CN_NUMERAL = re.compile(f"[{_CN_DIGITS}]")
# A run of four or more numerals (Chinese or Arabic, mixed) is a number being spelled out;
# shorter ones are ordinary words (一点, 三件, 两个).
_CN_RUN = re.compile(f"[0-9{_CN_DIGITS}](?:[ .\\-_]?[0-9{_CN_DIGITS}]){{3,}}")
# Anything that is not a letter, digit or CJK ideograph separates nothing in a disguise.
_NON_WORD = re.compile(r"[^0-9a-z\u4e00-\u9fff\u3400-\u4dbf]+")


@dataclass(frozen=True, slots=True)
class Normalized:
    """The views of one comment the text engine works on."""

    text: str  # folded, simplified, lower-case, spaces collapsed
    compact: str  # only letters, digits and ideographs
    digits: str  # text with spelled-out numeral runs as digits (separators kept)


def _spell_digits(match: re.Match[str]) -> str:
    return match.group(0).translate(_CN_TABLE)


def fold(raw: str) -> str:
    """NFKC + dingbats + traditional→simplified + look-alikes + lower-case."""
    text = unicodedata.normalize("NFKC", raw)
    # str.translate with a dict looks every character up (slow for CJK text); one
    # character-set scan tells whether any character needs it.
    if _NEEDS_TABLE.search(text):
        text = text.translate(_TABLE)
    text = text.lower()
    # str.split() splits on exactly the characters `\s` matches (str.isspace)
    return " ".join(text.split())


def normalize(raw: str) -> Normalized:
    text = fold(raw)
    compact = _NON_WORD.sub("", text)
    # Arabic digits are spelled already: only a Chinese numeral can change anything.
    digits = _CN_RUN.sub(_spell_digits, text) if _CN_NUMERAL.search(text) else text
    return Normalized(text, compact, digits)
