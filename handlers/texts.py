"""The bot's fixed wording, in Chinese and English."""

from __future__ import annotations

HELP = """arXiv 每日摘要机器人 · arXiv daily digest bot

/subscribe <过滤器 filter> 订阅主题 · add a topic filter
    /subscribe cs.LG stat.ML
    /subscribe cs.CV "diffusion model" -survey
    /subscribe author:Hinton
/unsubscribe <n|all> 删除第 n 个或全部过滤器 · remove filter n or all
/list 查看过滤器与设置 · your filters and settings
/time HH:MM [时区 timezone] 推送时间 · delivery time (default 09:00 Asia/Shanghai)
/lang zh|en|both 语言 · language (default both)
/paper <arXiv id 或链接 or URL> 论文双语摘要 · a paper's bilingual abstract
/digest [all|file] 立即获取最新摘要（全部 / 文件） · the latest digest, now (all of it / as a file)
/like <id>, /dislike <id> 👍/👎 评价论文，用于排序 · rate a paper; the digest learns what you like
/interest <文字 text>|clear 你的兴趣 · what you want, in words (shown alone: /interest)
/rank on|off 按相关性排序 · rank the digest best first (default on)
/limit <n>|all 每期最多篇数 · papers per digest (default 20)
/stop 退订并删除本聊天的全部数据 · unsubscribe and delete everything about this chat
/help 帮助 · this help

过滤器 · filters: 分类 categories (cs.LG), 关键词 keywords (diffusion), "短语 phrases", -排除 -exclusions, author:作者.
一篇论文只要匹配任一过滤器即推送 · a paper is sent when any of your filters matches it."""

WELCOME = "欢迎！每天为你推送 arXiv 新论文的中文摘要。 · Welcome! Daily arXiv papers with Chinese summaries.\n\n"
NOT_ALLOWED_IN_GROUP = "只有管理员可以修改本群的订阅。 · Only administrators can change this chat's subscription."
NO_FILTERS = "还没有订阅主题。 · No topics yet. Try: /subscribe cs.LG"
UNKNOWN_COMMAND = "未知命令 {command}。发送 /help 查看命令列表。 · Unknown command {command}. Send /help for the list."
NOT_A_COMMAND = (
    "请发送命令，例如 /paper 2402.03478。发送 /help 查看全部。 · "
    "Send a command such as /paper 2402.03478; /help lists them."
)
USAGE = {
    "subscribe": (
        '用法 · usage: /subscribe cs.LG stat.ML  |  /subscribe cs.CV "diffusion model" -survey  |  '
        "/subscribe author:Hinton"
    ),
    "unsubscribe": "用法 · usage: /unsubscribe <n|all>   (/list 显示编号 · shows the numbers)",
    "time": "用法 · usage: /time HH:MM [IANA timezone], e.g. /time 08:30 Europe/Berlin",
    "lang": "用法 · usage: /lang zh|en|both",
    "paper": "用法 · usage: /paper 2402.03478 (or an arXiv URL)",
    "like": "用法 · usage: /like 2402.03478 (or an arXiv URL)",
    "dislike": "用法 · usage: /dislike 2402.03478 (or an arXiv URL)",
    "rank": "用法 · usage: /rank on|off",
    "limit": "用法 · usage: /limit <1–1000>|all, e.g. /limit 10",
    "digest": "用法 · usage: /digest  |  /digest all  |  /digest file",
}
TRANSLATIONS_OFF = "翻译未开启，以下为英文。 · Translations are off; showing English."
STOPPED = (
    "已退订并删除本聊天的全部数据。发送 /start 重新开始。 · "
    "Unsubscribed; everything about this chat is deleted. /start to begin again."
)
NOTHING_TO_STOP = "本聊天没有订阅。 · This chat has no subscription."
NOT_ALLOWED = "无权使用此命令。 · Not allowed: this command is for the bot's administrators."
FALLBACK = "出错了，请稍后再试。 · Something went wrong; please try again later."
TOO_LONG = "参数太长 · that is too long ({length} characters; at most {limit})."
NO_SUCH_FILTER = (
    "没有第 {number} 个过滤器，现有编号：{numbers}。 · There is no filter {number}; yours are numbered {numbers}."
)
ALL_REMOVED = "已删除全部过滤器 · all filters removed."
ARXIV_UNAVAILABLE = "arXiv 暂时无法访问，请稍后再试。 · arXiv is unavailable right now ({reason})."
SOMETHING_FAILED = "出错了 · something went wrong: {reason}"
OTHER_PAPER = (
    "arXiv 返回了另一篇论文（{got}），而不是 {wanted}，请稍后再试。 · arXiv answered with another paper ({got}) "
    "instead of {wanted}; please try again later: https://arxiv.org/abs/{wanted}"
)
# A Chinese lead-in for each kind of input error whose detail (shared with the command line) is in English.
ERROR_LEAD = {
    "InvalidFilter": "过滤器有误",
    "InvalidArxivId": "无效的 arXiv 编号或链接",
    "PaperNotFound": "arXiv 上没有这篇论文",
}
TERM_KINDS = (
    ("分类 categories", "categories"),
    ("关键词 keywords", "keywords"),
    ("作者 authors", "authors"),
    ("排除 excluding", "excludes"),
)
ALL_OF_ARXIV = "全部 arXiv · all of arXiv"
STALE_BUTTON = "这个按钮已失效。 · This button no longer works."
WORKING = "正在处理，请稍候… · Working on it; the answer follows shortly."
TOO_SLOW = "处理超时，请稍后再试。 · This took too long; please try again later."
TRANSLATION_RESUMES = (
    "翻译额度已用完（每小时 {per_hour} 篇、每天 {per_day} 篇新论文），{at} 后恢复。 · "
    "Translation limit reached ({per_hour} new papers an hour, {per_day} a day); translation resumes at {at}."
)
RATED = {
    1: "👍 已记录：{title} · liked {paper}",
    -1: "👎 已记录：{title} · disliked {paper}",
}
RATING_REPLACED = "（替换了之前的评价 · replaces your earlier rating）"
NO_INTEREST = "还没有设置兴趣。 · No interest set. Try: /interest uncertainty estimation for diffusion models"
INTEREST_SHOWN = "兴趣 · interest: {interest}"
INTEREST_SET = "兴趣已设置 · interest set: {interest}"
INTEREST_CLEARED = "兴趣已清除 · interest cleared."
INTEREST_TOO_LONG = (
    "兴趣太长（{length} 字符，最多 {limit}）。 · That interest is too long ({length} characters; at most {limit})."
)
RANK_SET = {True: "已开启排序 · ranking is on.", False: "已关闭排序，按发布顺序 · ranking is off: announcement order."}
RANK_NOTHING_YET = (
    "还没有评价或兴趣：用 /like、/dislike 或 /interest 告诉我你想看什么。 · "
    "Nothing to rank by yet: /like, /dislike or /interest tell me what you want."
)
LIMIT_SET = "每期最多 {limit} 篇 · up to {limit} papers a digest."
LIMIT_ALL = "每期显示全部匹配论文 · every matching paper, no limit."
FILE_CAPTION = "arXiv {day} · {count} 篇论文，Markdown 文件 · {count} papers as a Markdown file"
