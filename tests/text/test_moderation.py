from __future__ import annotations

import pytest

from app.text.moderation import Moderator, moderate


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("加 薇 信 a1b2c3 送同款", "contact"),
        ("加V看更多低价同款 vx：abc8866", "contact"),
        ("招代理 一件代发 不用囤货 +v", "ad"),
        ("🈶需要的➕🛰 了解一下", "contact"),
        ("加ｑ 了解", "contact"),
        ("扣扣 一三八一二三四五六七八", "contact"),
        ("薇❤️ abc123", "contact"),
        ("私聊我 有内部价", "ad"),
        ("韩国代购 价格美丽 私聊", "ad"),
        ("电话 １３８ ①②③④ ⑤⑥⑦⑧", "phone"),
        ("号码 壹叁捌 壹贰叁肆 伍陆柒捌", "phone"),
        ("l38 l234 5678 call", "phone"),
        ("点 http://t.cn/A6xyz 领券", "link"),
        ("www.dd-haowu.cn 正品五折", "link"),
        ("shop-abc.top 便宜", "link"),
        ("傻X主播", "abuse"),
        ("主播全家都是骗子", "abuse"),
        ("骗子 都是骗人的 滚", "abuse"),
        ("你个傻子 卖的都是假货", "abuse"),
        ("一比一高仿大牌包", "prohibited"),
        ("处方药不用处方也能买", "prohibited"),
        ("上车" * 10, "flood"),
        ("6" * 40, "flood"),
    ],
)
def test_blocks_disguised_spam(text: str, reason: str) -> None:
    result = moderate(text)
    assert result.blocked, text
    assert result.reason == reason, (text, result)


@pytest.mark.parametrize(
    "text",
    [
        "微信支付不了 只能用支付宝吗",
        "111111",
        "哈哈哈哈哈",
        "666",
        "订单号 20231124123456 还没发货",
        "155 90斤穿什么码？",
        "9块9一大箱 不买是傻子",
        "要20000毫安那个",
        "我私信客服了没人回",
        "客服也不联系我",
        "qq糖好吃吗",
        "滚筒洗衣机几公斤",
        "usb接口是type-c吗",
    ],
)
def test_leaves_ordinary_comments_alone(text: str) -> None:
    result = moderate(text)
    assert not result.blocked, (text, result)


def test_stream_words_are_matched_through_disguises() -> None:
    moderator = Moderator(["竞品店", "ABC"])
    result = moderator.check("去 竞.品.店 买")
    assert result.blocked and result.reason == "blocked_word" and result.match == "竞品店"
    assert moderator.check("ａｂｃ 好").reason == "blocked_word"
    assert not moderator.check("这件好看").blocked


def test_stream_words_alone_without_global_list() -> None:
    moderator = Moderator(["外链"], include_global=False)
    assert not moderator.check("加V信").blocked
    assert moderator.check("有外链").blocked
