"""Cue words for the comment classifier, written from how live-selling viewers talk.

Each line is `tag weight: word word ...` (indented lines continue it). Tags:

* `q` question cue, `cs` strong complaint cue (wins over a question: 「到底发没发」),
  `cw` weak complaint cue (a question with it is still a question: 「坏了怎么赔」),
  `buy` purchase cue, `praise` praise of product/service/seller, `chat` chit-chat about
  the host, the room or life (turns a topic-less question into chit-chat);
* `t:<topic>` topic evidence (product, promo, logistics, after_sales, order);
* `pos` / `neg` sentiment evidence.

The words are generic to live selling (any vertical): question particles, complaint
phrases, purchase slang, after-sales/logistics/order/promo vocabulary, and generic
product attributes (size, material, spec, taste, effect). They are matched on the
normalised text (simplified, lower-case), so only simplified lower-case forms are needed.
"""

from __future__ import annotations

LEXICON = """
q 2: 吗 请问 是不是 能不能 会不会 有没有 可不可以 要不要 是否 什么时候 怎么 怎样 咋 如何 多少 哪
    啥 求问 问下 问一下 想问 想知道 几天 几号 几点 几升 几瓦 几级 几岁 几个 几斤 几码 几样 几寸
    几年 几克 几次 几件 几盒 几种 多久 多大 多重 多长 多宽 多高 what which how when where why does
    can i do you is it is this are they size chart
q 1: 什么 还是 可以 能 有 吧
q 0: 好几次 好几个 好几天 好几年 好几件 好几盒 好几种 好几回 几乎 多少有点 不管怎么
cs 3: 什么情况 没人理 凭什么 玩我 被拒 太坑 不理人 结果没 说送 坑 差评 太差 质量差 骗 垃圾 坑人
    坑爹 失望 后悔 无语 气死 投诉 举报 根本 到底 什么意思 搞什么 什么破 怎么想的 耍人 害我
    莫名其妙 早知道 不会再买 再也不买 还不如 没人处理 没人管 没人回 不回 联系不上 一直不 一直没
    一直提示 一直显示 还没退 还没处理 还没回 还不发 到现在 拖了 说好的 不是说 明明 内定 抢不到
    不给修 不给退 不给换 没反应 卡死 被取消 发错 挂错 报错 给我发了 怎么还 急死 差太多 假货 假的
    不值 没法用 酸倒牙 齁 still not not shipped broken terrible worst disappointed fake 一点都不
    一点也不 货不对板 色差 以后不会 不会再来 都第 天了还 拖拉机 还说是 一看就是
cw 2: 黄了 蔫了 枯了 不动 断网 却 没了 不能用 放久了 一股 偏小太多 偏大太多
cw 2: 结果 少了 少发 漏发 缺件 装不上 受潮 结块 变质 化了
cw 1: 拍错 不上 断的 还没发 还没到 还没收到 还没出货 不发货 天了 坏了 烂了 碎了 破了 漏了 掉了
    裂了 断了 不转 不亮 没电 没声 有洞 线头 刺鼻 异味 有味 臭 发霉 过期 发黄 氧化 暗了 闭口 爆痘
    长痘 过敏了 烂脸 疼 痒 卡顿 死机 发烫 缩水 褪色 掉色 起球了 变形了 不好用 不好吃 难吃 难用
    难看 不舒服 不甜 不新鲜 太咸 太酸 太硬 太薄 太厚 太小 太大 太紧 太松 太贵 太慢 太吵 太高 太低
    太短 太长 太重 太油 太腻 太辣 太淡 太干 好薄 全是筋 补上了 还在路上 没动 没发 扔驿站 不打
    补运费 补20 没收到 丢件 待发货 钱扣了 未支付 系统繁忙 下不了 改不了 用不了 退不了 不了 没货
    降价 比这还便宜 更便宜 贵了 没中 不满足 没赠品 没省 绕来绕去 找不到 没找到 半天 不说 没有 失败
    不想 透 不放心 闷痘 等了 没人 不满意 就给 才给
buy 2: 买了
buy 3: 不买是傻子 必须买 扣1 已拍 拍了 拍下 拍到 已下单 下单了 已付款 要了 我要 我也要 想要 入了
    闭眼入 冲了 冲冲冲 囤了 抢到了 已买 补拍 先拍 直接拍 必须拍 已入 给我来 给我留 来一份 来一单
    来一件 来一套 来两 来三 再来两 再来一 补上了 要一单 要一件 要一个 要一套 要两 要三 要20000
    ordered bought took 拍拍拍 为敬 不犹豫 蹲到 拍的 已备注 备注了
praise 2: 很稳 稳 实用 方便 很值 好精神 真的强 很强 好强 超强 没得说 棒 超快 装好了 好香 香 真香
    好评如潮 划算 清晰 流畅 省电 静音 好用 好吃 好喝 好闻 质量好 质量真的好 质量不错 质量很好
    真的好 不错 绝了 绝绝子 爱了 值了 超值 超出预期 能打 显瘦 显白 显脸小 结实 耐用 放心 良心 专业
    实在 耐心 讲得好 讲得 讲解 好评 推荐 回购 没踩过雷 巨甜 真甜 超甜 好甜 甜到 很甜 是真的甜
    外焦里嫩 好闪 严实 没压坏 还是冰的 秒到 补发 靠谱 惊喜 宝藏 满意 很好 超爱 爱喝 爱吃 不上火
    保湿 提气色 不糊眼 吹干 好软 很软 很舒服 好舒服 很快 好快 服务好 态度好 很纯 稳定多了 停不下来
    那个味 还好看 quality good great love nice amazing 支持 可以 真的很 好看 很香 好香 舒服 好穿
    合身 正好 划算 值得
seller 1: 讲解 讲得 专业 耐心 实在 良心 主播 不瞎吹 推荐的 每个问题
chat 1: 主播 助理 助播 小姐姐 哥哥 姐姐 宝宝们 姐妹们 老铁 大家 直播间
chat 2: 下播 背景音乐 bgm 歌 粤语 你家 口音 哪里人 有人吗 在吗 头发 发型 滤镜 风景 新来的 名字
    嗓子 普通话 状态 热死 下雨 无聊 晚安 早上好 晚上好 心情 上班 下班 工资 摸鱼 熬夜 打卡 前排
    抢沙发 坐沙发 报到 路过 好困 hello everyone 哈哈 笑死 666 加油 打call 新年快乐 快乐 好美 好帅
    好靓 好白 可爱 治愈 有意思 已关注 点赞点赞 冲一万 剁手
t:after_sales 3: 师傅 安装费 包安装 少发 漏发 缺件 少了 退改 改签 补差价 到账 改短 改长 免费改
    取件 退货 退款 仅退款 换货 包换 保修 质保 售后 七天无理由 无理由 维修 联保 寄回 退回 退换
    refund warranty return 人为损坏 赔 补发 坏果 破损 退的话 能退 可以退 还能退 退吗 退不 不给修
    给我发了 发错 申请退
t:after_sales 2: 安装
t:after_sales 1: 受潮 变质 化了 断了 断的 退 换 修 客服 收到 到手 拿到手 坏了 碎了 漏了 烂了 破了
    掉了 有洞 线头 处理
t:order 3: 下单 链接 连结 小黄车 号链接 订单 尾款 定金 取消 改地址 地址 备注 发票 货到付款 花呗
    分期 库存 拍成功 订单号 合并付款 拍错 系统繁忙 上链接 link 改成 未支付 哪个链接 下不了单 挂错
    拍两个 一单能 不同的码 补备注 上在几号 在几号
t:order 0: 马上付款 已付款 已下单 下单了 付款了
t:order 3: 付款 支付 信用卡 支付宝 银行卡 预约 核销 兑换码 券码
t:order 2: 没货 没拍上 拍不了
t:order 1: 几号
t:logistics 4: 运费险
t:logistics 3: 发过来 发过去 运输 寄过来 发到 发货 快递 物流 取快递 顺丰 邮政 京东快递 中通 圆通
    韵达 申通 极兔 驿站 包邮 运费 运费险 冷链 送到 到货 送货 上门 送上楼 偏远 新疆 西藏 青海 内蒙
    香港 澳门 海外 国外 singapore shipping shipped ship 预售 现货 待发货 在路上 签收 包装 能到
    几天到 多久到 多久能到 发走 合并发货 指定日期 送达 寄 出货 乡镇 农村 发什么 从哪发 发货地 仓库
    delivery 能发
t:logistics 2: 路上
t:logistics 1: 几天 发 到
t:promo 3: 加钱 另外加 送不送 双十一 双11 618 贵 这个价 这价 价格 多少钱 便宜 优惠 券 折扣 打折
    满减 半价 买一送一 赠品 赠 小样 福袋 抽奖 中奖 红包 秒杀 最低价 降价 套装价 批发价 叠加
    以旧换新 88vip 灯牌 金价 工费 划算 到手价 how much 活动 第二件 送的 拍两件 买三 买两 整箱拿 折
    减 套装 礼品 送烘焙纸 送小样 抽 单买
t:promo 2: 价 块 元 钱 官网
t:promo 1: 送
t:product 3: 内存 显卡 处理器 cpu 屏幕 像素 分辨率 蓝牙 兼容 配置 芯片 存储 实木 板材 甲醛 环保
    承重 幼犬 成犬 幼猫 猫粮 狗粮 适口性 配料表 添加剂 热量 卡路里 口感 新鲜 产地 新茶 有效期 房型
    早餐 入住 节假日 拆洗 门槛 看清 品质 码 尺寸 size 大小 偏大 偏小 身高 体重 材质 材料 面料 纯棉
    真丝 成分 配料 酒精 香精 防腐剂 保质期 生产日期 正品 防伪 鉴定 证书 毫安 功率 快充 接口 充电
    电池 续航 几升 容量 净重 重量 色 适合 孕妇 敏感肌 油皮 干皮 混油 黄皮 黑皮 过敏 辣 甜 酸 咸 味
    质量 效果 降噪 防水 waterproof 噪音 声音 起球 掉色 缩水 氧化 闭口 单果 几级 规格 型号 内径
    圈口 长度 足金 18k 925 ppsu 塑料 实物 刺鼻 闷痘 含氟 含 蔗糖 糖尿病 独立 小包装 吞 零件 电梯
    上身 显瘦 音质 延迟 版型 宽松 修身 胖 瘦 腰围 胸围 肩宽 裤长 衣长 鞋码 皮肤 肤质 痘 泛红 安全
    珍珠 能用 可以用 能戴 能穿 能吃 能喝 手机 电脑 电器 使用 用法 怎么用 保养 清洗 味儿 斤 升 瓦
    厘米 cm 寸 ml 克 毫升
t:product 2: 款 材 棉 皮 金 银
t:product 1: 重 轻 大 小 厚 薄 透 软 硬 穿 戴 用 吃 喝 涂 洗 这个 这款 这件 这条 这双 那个 水果
pos 1: 精神 漂亮 气质 年轻 划算 棒 哈哈 笑死 好美 帅 靓 好看 可爱 加油 666 ❤ 👍 😍 😂 🤣 💪 🎉 🙋
    🧧 有意思 治愈 晚上好 快乐 关注 点赞 打call 乖 仙 亲切 标准 瘦了 要紧 状态好 老铁们 放松 lol
    剁手 喜欢 爱 谢谢 期待 终于 必须 不犹豫 闭眼 抢到 补上 为敬 再来 拍拍拍 拍了拍了 买了买了
    下单了下单了 我要 我也要 想要 要了 冲 囤 回购 给我留 给闺女 给我妈 傻子 ！ 好好 好有 好喜欢
    又来了 ✔ 宝宝们
neg 1: 不好 热死 无聊 唉 难过 烦 不开心 找不到 没找到 不了 半天 😤 🙉 😡 生气 累 工资还没 没人说话
cs 1: still waiting never arrived wrong item wrong size no one replies no reply broken
    different from damaged missing refund not received late cheated scam fake
ins 1: 傻 蠢 笨蛋 白痴 智障 弱智 低能 脑残 脑子有病 脑子进水 有病 神经病 有毛病 废物 垃圾主播 窝囊
    丑八怪 丑女 丑死 丑逼 猪头 肥猪 死胖子 狗东西 狗日 畜生 人渣 贱 婊 不要脸 臭不要脸 丢人现眼
    滚 滚蛋 滚出 去死 不得好死 全家 你妈 尼玛 他妈 妈的 穷鬼 穷酸 土鳖 乡巴佬 村姑 屌丝 土狗 憨憨
    傻缺 傻帽 傻叉 煞笔 沙比 二货 菜狗 老东西 老女人 大妈 太监 猴子 驴 装嫩 闭嘴 算老几 算什么东西
    配带货 也配 好意思 恶心 辣眼睛 猥琐 骗子主播 主播骗子 大骗子 sb nmsl cnm tmd ugly idiot stupid
    shut up loser
div 1: 主页 头像 签名 简介 橱窗 同名 店铺名 搜我 搜同 看我 点我 私我 私聊 私信 私发 滴滴 dd我 v我
    加我 扣我 找我 联系我 🐧 企鹅 扣扣 qq 卫星 绿泡泡 薇 威信 vx wx 蝌蚪 📞 ☎ 📱 🍑 某宝 多多搜 line
    whatsapp telegram 电报 dm me profile 同款便宜 一样的 拿货 货源 批发 代理 一件代发 厂家 工厂
    出厂价 内部价 内部券 进群 群 互关 互粉 兼职 日结 日入 打字员 刷单 赚钱
ban 1: 烟 香烟 烟弹 电子烟 烟油 雾化 华子 免税烟 复刻 一比一 1:1 原单 高仿 超a a货 莆田 尾货 代练
    代打 代肝 上分 外挂 辅助 破解 盗版 网盘 资源 全套课程 代考 包过 代写 论文 办证 假证 代开 发票
    学历 挂靠 网贷 下款 征信 黑户 套现 博彩 网赌 彩票 稳赚 回本 不查身份证 不查年龄 未成年 不用验证
    处方药 无需处方 减肥药 壮阳 性药 特效药 包治百病 根治 野味 野生动物 穿山甲 熊掌 电鱼 枪 迷药
    解码 提速 限速 违章代消 驾照分 代扣 代办 监管机 id解锁 情趣 特殊服务 上门服务
"""


def parse_lexicon(text: str = LEXICON) -> dict[str, list[tuple[str, int]]]:
    """word → [(tag, weight), ...] (a word may carry several tags)."""
    table: dict[str, list[tuple[str, int]]] = {}
    head = ""
    for line in text.strip().splitlines():
        if line.startswith(" "):  # continuation of the previous tag's words
            words = line
        else:
            head, _, words = line.partition(": ")
        tag, weight = head.split()
        # Multi-word English cues are written with spaces in the line; keep them whole.
        for word in _split_words(words):
            table.setdefault(word, []).append((tag, int(weight)))
    return _net_weights(table)


def _net_weights(table: dict[str, list[tuple[str, int]]]) -> dict[str, list[tuple[str, int]]]:
    """Make nested cues count once: the automaton reports every word inside a longer one
    (运费险 → 运费险 and 运费), so a longer word's own weight is reduced by what its inner
    words of the same tag already add, and a match of 「运费险」 sums to its stated weight."""
    by_tag: dict[str, dict[str, int]] = {}
    for word, tags in table.items():
        for tag, weight in tags:
            by_tag.setdefault(tag, {})[word] = weight
    net: dict[str, dict[str, int]] = {}
    for tag, words in by_tag.items():
        net[tag] = {}
        for word in sorted(words, key=len):
            inner = 0
            for other, other_net in net[tag].items():
                if other != word and len(other) < len(word):
                    inner += other_net * _count_overlapping(word, other)
            net[tag][word] = words[word] - inner
    return {
        word: [(tag, net[tag][word]) for tag, _ in tags if net[tag][word]]
        for word, tags in table.items()
    }


def _count_overlapping(haystack: str, needle: str) -> int:
    return sum(haystack.startswith(needle, i) for i in range(len(haystack)))


_PHRASES = (
    "size chart", "how much", "is it", "is this", "are they", "can i", "do you",
    "still not", "not shipped", "hello everyone",
    "still waiting", "never arrived", "wrong item", "wrong size", "no one replies", "no reply",
    "different from", "not received", "dm me", "shut up",
)  # fmt: skip


def _split_words(words: str) -> list[str]:
    text = f" {words.strip()} "
    found: list[str] = []
    for phrase in _PHRASES:
        if " " in phrase and f" {phrase} " in text:
            found.append(phrase)
            text = text.replace(f" {phrase} ", " ")
    found.extend(text.split())
    return found
