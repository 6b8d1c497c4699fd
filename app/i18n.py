"""Person-facing server messages by stable code, in Simplified Chinese and English.

Every message the server returns for people (errors, validation problems, readiness
findings, alerts, automatic cues) carries a `code` and its `params`; the consoles render
the code in the language the user chose (frontend/src/i18n/server.ts holds the same
codes), and API users get the text localised by `Accept-Language` (zh-CN by default).
A code missing here falls back to a generic text of its HTTP status.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

Lang = Literal["zh", "en"]

# code -> (zh, en); "{name}" is filled from the params.
MESSAGES: dict[str, tuple[str, str]] = {
    # ---- automatic cues
    "cue.questions": ("{count} 位观众在问：{title}", "{count} viewers are asking: {title}"),
    # ---- alerts (params: the alert's data, plus `product` = the product's name)
    "alert.online_drop": (
        "在线人数下降 {drop_pct}%（{peak} → {online}）：考虑发福利或切换话题",
        "Viewers online down {drop_pct}% ({peak} → {online}): try a giveaway or a new topic",
    ),
    "alert.click_spike": (
        "讲解中商品点击激增：{window_seconds} 秒内 {clicks} 次点击，可延长讲解并加码优惠",
        "Clicks on the explained product jumped: {clicks} in {window_seconds} s — "
        "explain longer, sweeten the offer",
    ),
    "alert.stock_low": (
        "库存紧张：{product} 仅剩 {stock_left} 件",
        "Stock running low: {product} has {stock_left} left",
    ),
    "alert.sold_out": (
        "已售罄：{product}，考虑下架或补货",
        "Sold out: {product} — delist it or add stock",
    ),
    "alert.negative_spike": (
        "负面评论激增：{window_seconds} 秒内 {count} 条，注意舆情引导",
        "Negative comments surging: {count} in {window_seconds} s — steer the mood",
    ),
    "alert.question_wait": (
        "有观众问题已等待 {waiting_seconds} 秒未回复",
        "A viewer question has waited {waiting_seconds} s without an answer",
    ),
    # ---- the claims checker (app/text/compliance.py): the rule a finding breaks and
    # the suggested rewording, by code
    "compliance.rule.ad_law_9": (
        "《广告法》第九条第（三）项：不得使用“国家级”“最高级”“最佳”等用语",
        "Advertising Law art. 9(3): no 'national-level', 'highest-grade', 'best' or similar terms",
    ),
    "compliance.rule.ad_law_17": (
        "《广告法》第十七条：除医疗、药品、医疗器械广告外，不得涉及疾病治疗功能",
        "Advertising Law art. 17: only medical, drug and medical-device ads may speak of "
        "treating diseases",
    ),
    "compliance.rule.ad_law_28": (
        "《广告法》第二十八条：虚假或引人误解的内容（无依据的效果、保证）",
        "Advertising Law art. 28: false or misleading content (unfounded effects, guarantees)",
    ),
    "compliance.rule.cosmetics_37": (
        "《化妆品监督管理条例》第三十七条：特殊化妆品功效须注册，宣称须有依据",
        "Cosmetics Supervision Regulations art. 37: special-use efficacy must be "
        "registered and every claim supported",
    ),
    "compliance.rule.price_19": (
        "《明码标价和禁止价格欺诈规定》第十九条：不得虚构原价、无依据的价格比较",
        "Price Marking and Price Fraud Provisions art. 19: no invented original prices, "
        "no unfounded price comparisons",
    ),
    "compliance.rule.platform": (
        "平台规则：禁止站外导流、好评返现、诱导互动",
        "Platform rules: no off-site diversion, no rewards for reviews, no induced interaction",
    ),
    "compliance.rule.team": ("团队自定义禁用词", "The team's own forbidden term"),
    "compliance.suggestion.superlative": (
        "改为客观描述：“口碑很好”“很受欢迎”“我们推荐”，或给出可核实的数据",
        "Describe it plainly ('well reviewed', 'very popular', 'we recommend it') or give "
        "figures that can be checked",
    ),
    "compliance.suggestion.first": (
        "改为“热销款”“很多人回购”，或注明数据来源与时间（如“某平台 2025 年销量”）",
        "Say 'a best seller' or 'many buy it again', or name the source and period of the "
        "figure (e.g. 'sales on platform X, 2025')",
    ),
    "compliance.suggestion.national": (
        "删去级别称号，或改为有证书支撑的表述（如“通过 XX 认证”）",
        "Drop the rank or title, or say what a certificate backs (e.g. 'XX certified')",
    ),
    "compliance.suggestion.medical": (
        "删去疾病与治疗表述；普通商品只说使用感受（“舒缓”“清爽”“用着舒服”）",
        "Remove disease and treatment words; for ordinary goods say how it feels "
        "('soothing', 'fresh', 'comfortable to use')",
    ),
    "compliance.suggestion.efficacy": (
        "改为“有助于”“改善观感”，并确认已有特证 / 功效评价报告",
        "Say 'helps' or 'improves the look', and make sure the special-use registration / "
        "efficacy report exists",
    ),
    "compliance.suggestion.guarantee": (
        "删去绝对保证，改为“大多数人反馈”“因人而异”",
        "Remove the guarantee; say 'most buyers tell us' or 'results vary'",
    ),
    "compliance.suggestion.price_low": (
        "改为“直播间专属价”“今天的活动价”，不与全网或他人比较",
        "Say 'live-room price' or 'today's offer price'; do not compare with the whole "
        "web or with others",
    ),
    "compliance.suggestion.price_original": (
        "只写真实成交过的划线价，或改为“活动价 XX 元”",
        "Strike through only a price that was really charged, or say 'offer price XX yuan'",
    ),
    "compliance.suggestion.offsite": (
        "删去站外联系方式与平台名，引导在本直播间下单、联系平台客服",
        "Remove off-site contacts and other platforms' names; ask viewers to order here "
        "and to use the platform's customer service",
    ),
    "compliance.suggestion.review_cash": (
        "删去以好评、晒单换取返现或赠品的说法",
        "Remove any cash back or gift in return for good reviews or photos",
    ),
    "compliance.suggestion.team_default": (
        "团队要求不说这个词，请换一种说法",
        "The team asked not to say this: put it another way",
    ),
    # ---- readiness findings
    # compliance findings (issue #14): {phrase} where it is written, {suggestion} a rewording
    # (a "compliance.suggestion.<code>" worded in the reader's language, or the team's own)
    "readiness.compliance_absolute": (
        "绝对化用语「{phrase}」（{where}）：{suggestion}",
        "Absolute claim '{phrase}' ({where}): {suggestion}",
    ),
    "readiness.compliance_medical": (
        "医疗用语「{phrase}」（{where}）：{suggestion}",
        "Medical claim '{phrase}' ({where}): {suggestion}",
    ),
    "readiness.compliance_efficacy": (
        "功效宣称「{phrase}」（{where}）：{suggestion}",
        "Efficacy claim '{phrase}' ({where}): {suggestion}",
    ),
    "readiness.compliance_price": (
        "价格宣称「{phrase}」（{where}）：{suggestion}",
        "Price claim '{phrase}' ({where}): {suggestion}",
    ),
    "readiness.compliance_platform": (
        "平台禁用「{phrase}」（{where}）：{suggestion}",
        "Forbidden by the platform: '{phrase}' ({where}): {suggestion}",
    ),
    "readiness.compliance_team": (
        "团队禁用词「{phrase}」（{where}）：{suggestion}",
        "The team's own term '{phrase}' ({where}): {suggestion}",
    ),
    "readiness.lineup_empty": ("选品清单为空", "The lineup has no products"),
    "readiness.product_ineligible": (
        "{name} 不可上播（{reason}）",
        "{name} may not be sold ({reason})",
    ),
    "readiness.qc_pending": ("{name} 尚未通过质检", "{name} has not passed QC yet"),
    "readiness.flash_allotment_exceeds_stock": (
        "{name}：秒杀库存 {flash} 超过分配库存 {allotted}",
        "{name}: flash-sale allotment {flash} exceeds the allotted stock {allotted}",
    ),
    "readiness.stock_shortfall": (
        "{name}：分配 {allotted} 件，仓库仅有 {warehouse_stock} 件",
        "{name}: {allotted} allotted but only {warehouse_stock} in the warehouse",
    ),
    "readiness.stock_shortfall_overlap": (
        "{name}：时间重叠的场次共分配 {total_allotted} 件，仓库仅有 {warehouse_stock} 件",
        "{name}: {total_allotted} allotted across overlapping streams but only "
        "{warehouse_stock} in the warehouse",
    ),
    "readiness.no_host": ("团队中没有主播", "No host is on the team"),
    "readiness.checklist_incomplete": (
        "技术检查清单：{open} / {total} 项未通过",
        "Technical checklist: {open} of {total} item(s) not OK",
    ),
    "readiness.script_missing": ("本场没有脚本", "The stream has no script"),
    "readiness.script_gap": (
        "脚本在第 {start_offset_seconds} 秒处有 {seconds} 秒空档",
        "{seconds} s without a segment at {start_offset_seconds} s",
    ),
    "readiness.script_overlap": ("脚本环节重叠 {seconds} 秒", "Segments overlap by {seconds} s"),
    "readiness.script_duration_mismatch": (
        "脚本时长 {span_seconds} 秒，计划 {planned_seconds} 秒",
        "The script runs {span_seconds} s, planned {planned_seconds} s",
    ),
    "readiness.script_product_not_in_lineup": (
        "环节「{title}」讲解的商品不在选品清单中",
        "Segment “{title}” is about a product that is not in the lineup",
    ),
    "readiness.no_contingency_plan": ("没有应急预案", "No contingency plan"),
    "readiness.no_warmup": ("没有预热计划", "No warm-up campaign is planned"),
    "reason.qc_failed": ("质检未通过", "failed QC"),
    "reason.unlicensed": ("三无产品", "unlicensed"),
    # ---- validation problems (pydantic error types; params: field + the limits)
    "validation.missing": ("{field}：必填", "{field}: required"),
    "validation.greater_than_equal": ("{field}：不能小于 {ge}", "{field}: must be at least {ge}"),
    "validation.greater_than": ("{field}：必须大于 {gt}", "{field}: must be greater than {gt}"),
    "validation.less_than_equal": ("{field}：不能大于 {le}", "{field}: must be at most {le}"),
    "validation.less_than": ("{field}：必须小于 {lt}", "{field}: must be less than {lt}"),
    "validation.string_too_short": (
        "{field}：至少 {min_length} 个字符",
        "{field}: at least {min_length} character(s)",
    ),
    "validation.string_too_long": (
        "{field}：最多 {max_length} 个字符",
        "{field}: at most {max_length} characters",
    ),
    "validation.too_short": (
        "{field}：至少 {min_length} 项",
        "{field}: at least {min_length} item(s)",
    ),
    "validation.too_long": ("{field}：最多 {max_length} 项", "{field}: at most {max_length} items"),
    "validation.int_parsing": ("{field}：请输入整数", "{field}: enter a whole number"),
    "validation.int_type": ("{field}：请输入整数", "{field}: enter a whole number"),
    "validation.decimal_parsing": ("{field}：请输入数字", "{field}: enter a number"),
    "validation.float_parsing": ("{field}：请输入数字", "{field}: enter a number"),
    "validation.enum": ("{field}：取值无效", "{field}: not one of the allowed values"),
    "validation.literal_error": ("{field}：取值无效", "{field}: not one of the allowed values"),
    "validation.extra_forbidden": ("{field}：不支持此字段", "{field}: unknown field"),
    "validation.datetime_parsing": ("{field}：时间格式无效", "{field}: not a valid date and time"),
    "validation.timezone_aware": ("{field}：时间需带时区", "{field}: the time needs a time zone"),
    "validation.value_error": ("{field}：{msg}", "{field}: {msg}"),
    "validation.other": ("{field}：输入无效", "{field}: invalid input"),
    "validation.money_float": (
        "{field}：金额请写成如 59.90 的数字",
        "{field}: write the amount as a number such as 59.90",
    ),
    "validation.money_not_decimal": ("{field}：不是有效金额", "{field}: not a valid amount"),
    "validation.money_negative": (
        "{field}：金额不能为负",
        "{field}: the amount must not be negative",
    ),
    "validation.money_too_large": ("{field}：金额过大", "{field}: the amount is too large"),
    "validation.money_cents": ("{field}：金额最多两位小数", "{field}: at most two decimal places"),
    # ---- product CSV import: one reason per bad row (params: field, first_line)
    "csv.unknown_column": ("未知的列", "unknown column"),
    "csv.missing_column": ("缺少必填列", "missing required column"),
    "csv.duplicate_column": ("列名重复", "duplicate column"),
    "csv.too_many_cells": ("单元格多于表头的列数", "more cells than the header has columns"),
    "csv.sku_repeated": (
        "SKU 重复（首次出现在第 {first_line} 行）",
        "SKU repeated (first on line {first_line})",
    ),
    # ---- errors a console user meets most (code = the body's `code`)
    "error.validation_error": ("输入有误", "Some input is invalid"),
    "error.not_found": ("未找到", "Not found"),
    "error.stream_not_found": ("直播场次不存在", "No such stream"),
    "error.product_not_found": ("商品不存在", "No such product"),
    "error.not_in_lineup": ("该商品不在本场选品中", "This product is not in the stream's lineup"),
    "error.stream_not_live": ("直播尚未开始或已结束", "The stream is not live"),
    "error.stream_not_active": ("直播已结束，无法操作", "The stream has ended; this is closed"),
    "error.stream_closed": ("直播已结束", "The stream is closed"),
    "error.not_ready": ("开播检查未通过", "The stream is not ready to go live"),
    "error.invalid_transition": ("当前状态下不能这样操作", "Not possible in the stream's state"),
    "error.forbidden": ("无权操作", "Not allowed"),
    "error.role_forbidden": ("你的角色无权操作", "Your role may not do this"),
    "error.not_on_team": ("你不在本场团队中", "You are not on this stream's team"),
    "error.force_forbidden": (
        "只有管理员或场控可以强制开播",
        "Only an admin or controller may force a start",
    ),
    "error.unauthorized": ("请先登录", "Please sign in"),
    "error.not_authenticated": ("请先登录", "Please sign in"),
    "error.wrong_password": ("用户名或密码错误", "Wrong username or password"),
    "error.user_disabled": ("账号已停用", "This account is disabled"),
    "error.sold_out": ("已售罄", "Sold out"),
    "error.insufficient_stock": ("库存不足", "Not enough stock"),
    "error.limit_exceeded": ("超过限购数量", "Over the purchase limit"),
    "error.not_listed": ("商品未上架", "The product is not listed"),
    "error.delisted": (
        "已下架的商品不能讲解，请先上架",
        "A delisted product cannot be explained; list it first",
    ),
    "error.flash_sale_exists": ("已有进行中的秒杀", "A flash sale is already running"),
    "error.flash_allotment_too_large": (
        "秒杀数量超过可用库存",
        "The flash-sale quantity exceeds the stock",
    ),
    "error.below_sold": ("库存不能少于已售数量", "Stock cannot go below the units sold"),
    "error.below_sold_units": ("库存不能少于已售数量", "Stock cannot go below the units sold"),
    "error.already_answered": ("该问题已被回答", "This question was already answered"),
    "error.item_conflict": ("该问题已被其他客服处理", "Another agent is handling this item"),
    "error.empty_answer": ("回复不能为空", "The answer is empty"),
    "error.concurrent_edit": ("内容已被他人修改，请刷新", "Someone else changed this; refresh"),
    "error.segment_moved": ("环节已被他人切换", "Someone else moved the segment"),
    "error.no_next_segment": ("已是最后一个环节", "This is the last segment"),
    "error.lottery_closed": ("福袋已结束", "The lucky bag is closed"),
    "error.muted": ("你已被禁言", "You are muted"),
    "error.busy": ("服务器繁忙，请稍后重试", "The server is busy; retry shortly"),
    "error.too_many_requests": ("操作太频繁，请稍后再试", "Too many requests; retry shortly"),
    "error.internal_error": ("服务器内部错误", "Internal server error"),
    "status.400": ("请求有误（{code}）", "Bad request ({code})"),
    "status.401": ("请先登录（{code}）", "Please sign in ({code})"),
    "status.403": ("无权操作（{code}）", "Not allowed ({code})"),
    "status.404": ("未找到（{code}）", "Not found ({code})"),
    "status.409": ("当前状态下不能这样操作（{code}）", "Not possible right now ({code})"),
    "status.422": ("输入有误（{code}）", "Invalid input ({code})"),
    "status.429": ("操作太频繁（{code}）", "Too many requests ({code})"),
    "status.500": ("服务器错误（{code}）", "Server error ({code})"),
    # ---- connecting a platform (issue 18)
    "error.webhook_url_refused": (
        "推送地址被拒绝（须为公网 http(s) 地址）",
        "Webhook URL refused (a public http(s) address is needed)",
    ),
    "error.unknown_event_type": (
        "未知的事件类型",
        "Unknown event type",
    ),
    "error.webhook_not_found": (
        "推送地址不存在",
        "No such webhook",
    ),
    "error.delivery_not_found": (
        "推送记录不存在",
        "No such delivery",
    ),
    "error.delivery_not_dead": (
        "只有已放弃的推送可以重新推送",
        "Only a dead delivery can be sent again",
    ),
    "error.action_not_found": (
        "该动作不存在",
        "No such action",
    ),
    "error.connector_not_found": (
        "平台接入不存在",
        "No such connector",
    ),
    "error.unknown_mapping": (
        "未知的映射",
        "Unknown mapping",
    ),
    "error.mapping_params_missing": (
        "该映射需要填写参数：{names}",
        "This mapping needs the params: {names}",
    ),
    "error.already_rehearsal": (
        "这已经是一场彩排",
        "This stream is a rehearsal already",
    ),
    "error.not_a_rehearsal": (
        "只有彩排可以回放事件",
        "Only a rehearsal can replay events",
    ),
    "error.replay_running": (
        "本场彩排正在回放",
        "A replay is running in this rehearsal",
    ),
    "error.replay_not_found": (
        "本场彩排没有回放",
        "No replay of this rehearsal",
    ),
    "error.bad_source": (
        "回放来源须为已结束的真实场次",
        "The source must be a past real stream",
    ),
    "error.empty_source": (
        "来源场次没有记录的事件",
        "The source stream has no recorded events",
    ),
}


class _Params(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def lang_of(accept_language: str | None) -> Lang:
    """The better of zh and en for an `Accept-Language` header; zh-CN by default."""
    best: tuple[float, Lang] = (-1.0, "zh")
    for part in (accept_language or "").split(","):
        tag, _, q = part.strip().partition(";q=")
        tag = tag.strip().lower()
        try:
            weight = float(q) if q else 1.0
        except ValueError:
            weight = 0.0
        lang: Lang | None = "en" if tag.startswith("en") else "zh" if tag.startswith("zh") else None
        if lang is not None and weight > best[0]:
            best = (weight, lang)
    return best[1]


def localize(code: str, params: Mapping[str, Any] | None, lang: Lang) -> str | None:
    """The text of `code` in `lang`, or None for a code not in the catalogue."""
    entry = MESSAGES.get(code)
    if entry is None:
        return None
    values = _Params({k: _show(v, lang) for k, v in (params or {}).items()})
    return entry[0 if lang == "zh" else 1].format_map(values)


def _show(value: Any, lang: Lang) -> Any:
    if isinstance(value, str) and value.startswith(("reason.", "compliance.")):
        return localize(value, None, lang) or value
    if isinstance(value, list):
        return "、".join(str(v) for v in value) if lang == "zh" else ", ".join(map(str, value))
    return value


def validation_problem(err: Mapping[str, Any], field: str) -> tuple[str, dict[str, Any]]:
    """The catalogue code and params of one pydantic error (its `type`, `ctx` and `msg`)
    for the named field; `validation.other` for a type the catalogue does not know."""
    kind = str(err.get("type", ""))
    ctx = err.get("ctx") or {}
    params: dict[str, Any] = {k: v for k, v in ctx.items() if isinstance(v, str | int | float)}
    params["field"] = field
    if kind == "value_error":
        params["msg"] = str(err.get("msg", "")).removeprefix("Value error, ")
    code = f"validation.{kind}" if f"validation.{kind}" in MESSAGES else "validation.other"
    return code, params


def error_message(code: str, status: int, params: Mapping[str, Any], lang: Lang) -> str:
    text = localize(f"error.{code}", params, lang)
    if text is None:
        text = localize(f"status.{status}", {"code": code}, lang) or code
    return text


def localize_findings(findings: list[dict[str, Any]], lang: Lang) -> list[dict[str, Any]]:
    """The findings with `message` in `lang` (codes not in the catalogue keep theirs)."""
    out = []
    for f in findings:
        text = localize(f"readiness.{f.get('code')}", f.get("params") or {}, lang)
        out.append({**f, "message": text} if text else f)
    return out
