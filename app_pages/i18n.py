"""The app's words in English and Chinese, and the language a session is served in.

Every label, message and caption of the pages is a string here, by a short id (``t("ask.title")``);
library errors go through `error`, which translates the messages it knows (kb.messages). The
``language`` setting chooses: "en", "zh", or "auto" for the browser's language (``st.context.locale``).
"""

from __future__ import annotations

import streamlit as st

from kb.config import load_settings
from kb.errors import KbError
from kb.messages import LABELS, Catalogue, language_for, status_label, translate_error, type_label

APP = LABELS.merged(Catalogue({
    # the app and its pages
    "app.title": ("Office knowledge base", "办公知识库"),
    "nav.start": ("Start here", "首页"),
    "nav.ask": ("Ask", "提问"),
    "nav.search": ("Search precedent", "查找先例"),
    "nav.check": ("Check a draft", "文稿检查"),
    "nav.library": ("Library", "文库"),
    "nav.admin": ("Admin", "管理"),
    # who is logged in
    "login.title": ("Log in", "登录"),
    "login.name": ("User name", "用户名"),
    "login.password": ("Password", "密码"),
    "login.submit": ("Log in", "登录"),
    "login.oidc": ("Log in with your organisation's account", "使用单位账号登录"),
    "login.wrong": ("Wrong user name or password.", "用户名或密码错误。"),
    "login.required": ("Log in to use the knowledge base.", "请先登录再使用知识库。"),
    "login.not_configured": ("{name} has no access to this knowledge base: ask an administrator to add you.",
                             "{name} 没有本知识库的访问权限：请联系管理员添加。"),
    "login.as": ("Logged in as {name} · {role} · cleared for {level}", "当前用户 {name} · {role} · 可阅密级 {level}"),
    "login.logout": ("Log out", "退出登录"),
    "role.reader": ("reader", "读者"),
    "role.editor": ("editor", "编辑"),
    "role.admin": ("admin", "管理员"),
    "level.public": ("Public", "公开"),
    "level.internal": ("Internal", "内部"),
    "level.confidential": ("Confidential", "秘密"),
    "level.secret": ("Secret", "机密"),
    "level.top_secret": ("Top secret", "绝密"),
    # admin
    "admin.only": ("This page is for administrators.", "此页面仅供管理员使用。"),
    "admin.title": ("Admin", "管理"),
    "admin.activity": ("Activity log", "操作日志"),
    "admin.users": ("Users", "用户"),
    "admin.user": ("User", "用户"),
    "admin.everyone": ("Everyone", "全部用户"),
    "admin.actions": ("Actions", "操作"),
    "admin.text": ("Question, file or document contains", "问题、文件或文档包含"),
    "admin.count": ("{n} events, newest first", "共 {n} 条记录，最新的在前"),
    "admin.csv": ("Export as CSV", "导出 CSV"),
    "admin.add_user": ("Add or change a user", "添加或修改用户"),
    "admin.role": ("Role", "角色"),
    "admin.clearance": ("Clearance", "可阅密级"),
    "admin.save_user": ("Save user", "保存用户"),
    "admin.saved": ("Saved {name}.", "已保存 {name}。"),
    "admin.remove_user": ("Remove a user", "删除用户"),
    "admin.remove_button": ("Remove {name}", "删除 {name}"),
    "admin.col.time": ("Time (UTC)", "时间（UTC）"),
    "admin.col.user": ("User", "用户"),
    "admin.col.action": ("Action", "操作"),
    "admin.col.detail": ("Question, file or change", "问题、文件或变更"),
    "admin.col.documents": ("Documents", "文档"),
    "admin.col.role": ("Role", "角色"),
    "admin.col.clearance": ("Clearance", "可阅密级"),
    "admin.col.groups": ("Groups", "部门"),
    # shared
    "kb.loading": ("Loading the knowledge base…", "正在加载知识库……"),
    "kb.cannot_open": ("The knowledge base cannot be opened: {message}", "无法打开知识库：{message}"),
    "filters": ("Filters", "筛选"),
    "filter.choose": ("Choose options", "请选择"),
    "filter.type": ("Type", "类型"),
    "filter.status": ("Status", "状态"),
    "filter.issuer": ("Issuer", "发文机关"),
    "filter.year": ("Year", "年份"),
    "filter.dated": ("Only documents dated between", "只看以下日期之间的文档"),
    "filter.from": ("From", "起"),
    "filter.to": ("To", "止"),
    "unknown": ("unknown", "不详"),
    "card.status": ("This document is {status}.", "本文件{status}。"),
    "card.download": ("Download {name}", "下载 {name}"),
    "card.missing": ("Original file no longer at {path}", "原文件已不在 {path}"),
    # Start here
    "start.intro": (
        "Ask how to draft, review, number, send and archive official documents, how meetings are prepared and "
        "followed up, and how affairs are coordinated and supervised. Every answer quotes its source: "
        "document, article or section, page.",
        "可以询问公文如何起草、审核、编号、印发和归档，会议如何筹备和落实，事务如何协调和督办。"
        "每个回答都引用原文，并注明出处：文件、条款或章节、页码。"),
    "start.holds": ("What it holds", "知识库概况"),
    "start.empty": ("The knowledge base is empty. Add files on the **Library** page, or run `kb ingest corpus/`.",
                    "知识库还是空的。请在**文库**页面添加文件，或运行 `kb ingest corpus/`。"),
    "start.metric.minutes": ("Meeting minutes", "会议纪要"),
    "start.count": ("**{documents}** documents in **{passages}** searchable passages",
                    "共 **{documents}** 篇文档、**{passages}** 个可检索段落"),
    "start.dated": (", dated {first} to {last}.", "，成文日期从 {first} 到 {last}。"),
    "start.count_end": (".", "。"),
    "start.status_count": ("{n} {status}", "{status} {n} 篇"),
    "start.issuers": ("Issued by {n} bodies.", "来自 {n} 个发文机关。"),
    "start.regulations": ("The {n} regulations", "{n} 部法规制度"),
    "start.try": ("Try a question", "试一试"),
    "area.documents": ("Official documents", "公文"),
    "area.meetings": ("Meetings", "会议"),
    "area.affairs": ("Affairs", "事务"),
    # Ask
    "ask.title": ("Ask the knowledge base", "向知识库提问"),
    "ask.caption": ("Answers are quoted from the office's regulations, documents and minutes, each with its source. "
                    "Nothing is made up: when the sources do not say, the answer says so.",
                    "回答摘自本单位的法规制度、公文和会议纪要，并注明出处。不做任何编造：资料中没有的，会如实说明。"),
    "ask.clear": ("Clear conversation", "清空对话"),
    "ask.answers": ("Answers", "回答方式"),
    "ask.reader": ("Reader", "回答生成"),
    "ask.reader.extractive": ("Quoted sentences (extractive)", "引用原文（摘录）"),
    "ask.reader.llm": ("Written by the model, checked (llm)", "由模型撰写并逐句核对（大模型）"),
    "ask.reader.help": ("The model writes a reply from the top passages; each sentence is checked against the "
                        "passage it cites before it is shown.",
                        "模型根据排名靠前的段落撰写回答；每句话显示前都会与其引用的段落核对。"),
    "ask.reader.none": ("No model is configured (llm_base_url, llm_model): answers are quoted.",
                        "未配置模型（llm_base_url、llm_model）：回答为原文引用。"),
    "ask.caption.llm": ("Answers are written by the model {model} at {url} from the office's regulations, documents "
                        "and minutes. Every sentence is checked against the passage it cites; a sentence the passage "
                        "does not support is {fate}.",
                        "回答由位于 {url} 的模型 {model} 根据本机关的制度、公文和会议纪要撰写。每句话都与其引用的段落核对；"
                        "段落不支持的句子将被{fate}。"),
    "ask.caption.llm.drop": ("left out", "删去"),
    "ask.caption.llm.mark": ("marked", "标出"),
    "ask.unsupported": ("unsupported: {reason}", "无依据：{reason}"),
    "ask.read_as": ("Read with the previous question as: {question}", "结合上一个问题理解为：{question}"),
    "ask.searched": ("Searched for: {query}", "实际检索：{query}"),
    "ask.answered": ("Answered in {ms} ms from {n} source(s).", "用时 {ms} 毫秒，引用 {n} 个来源。"),
    "ask.not_found_because": ("{text} {reason}.", "{text}原因：{reason}。"),
    "ask.related": ("Possibly related passages:", "可能相关的段落："),
    "ask.closest": ("The closest passages, none of which answers the question:", "最接近的段落（均未回答这个问题）："),
    "ask.thanks": ("Thank you: your rating is saved.", "谢谢，您的评价已保存。"),
    "ask.placeholder": ("Ask about drafting, procedures, past documents or decisions…",
                        "请输入关于公文起草、办事程序、往期文件或会议决定的问题……"),
    "ask.empty": ("Ask a question below, or pick a starter question on **Start here**.",
                  "请在下方输入问题，或在**首页**选择一个示例问题。"),
    # Search precedent
    "search.title": ("Search precedent", "查找先例"),
    "search.caption": ("Find past documents and minutes like the one you are drafting: documents are ranked by their "
                       "best passage.", "查找与正在起草的文稿相似的往期公文和会议纪要：按文档中最匹配的段落排序。"),
    "search.query": ("What is the document about?", "文档的主题是什么？"),
    "search.placeholder": ("e.g. funding request for archives digitisation", "例如：校园安防设施改造补助资金的请示"),
    "search.filters_later": ("Filters by type, status, issuer and year appear with the results.",
                             "检索后可按类型、状态、发文机关和年份筛选。"),
    "search.count": ("{n} document(s)", "共 {n} 篇文档"),
    "search.count_of": ("{n} of {total} documents", "{total} 篇文档中的 {n} 篇"),
    "search.none": ("No document matches. Try other words, or clear some filters.",
                    "没有匹配的文档。请换个说法，或清除部分筛选条件。"),
    "search.best": ("Best match: {where} · {n} matching passage(s)", "最佳匹配：{where} · {n} 个匹配段落"),
    "search.hint": ("Type a subject above: a kind of document, a topic, a department or a number.",
                    "请在上方输入主题：文种、事项、部门或文号。"),
    "similar": ("Similar documents", "相似文档"),
    # Check a draft
    "check.title": ("Check a draft", "文稿检查"),
    "check.caption": ("Paste a draft or upload it (.docx, .md or .txt). Every finding says where it is, what is wrong "
                      "and how to fix it, and opens the article it rests on. Word files are also checked for paper, "
                      "margins, font and line spacing.",
                      "粘贴文稿或上传文件（.docx、.md 或 .txt）。每条检查结果都说明问题所在位置、错在哪里、如何修改，"
                      "并可展开所依据的条款。Word 文件还会检查纸张、页边距、字体和行距。"),
    "check.cannot": ("The rules cannot be used: {message}", "规则无法使用：{message}"),
    "check.draft": ("Draft", "文稿"),
    "check.placeholder": ("Paste the draft's text here…", "在此粘贴文稿……"),
    "check.upload": ("…or upload it", "……或上传文件"),
    "check.kind": ("Kind of document", "文种"),
    "check.from_title": ("(named by the title)", "（按标题判断）"),
    "check.submit": ("Check the draft", "检查文稿"),
    "check.pasted": ("pasted text", "粘贴的文稿"),
    "check.how.title": ("named by the title", "按标题判断"),
    "check.how.given": ("as chosen", "按所选"),
    "check.how.unknown": ("the title names no kind", "标题未写明文种"),
    "check.kind_is": ("Kind: {kind} ({how}).", "文种：{kind}（{how}）。"),
    "check.clean": ("No findings: the draft meets every rule that applies to it.", "未发现问题：文稿符合所有适用的规则。"),
    "check.similar": ("Similar past documents", "相似的往期文档"),
    "check.no_similar": ("No past document of this kind is in the knowledge base.", "知识库中没有这一文种的往期文档。"),
    "check.fix": ("**Fix:** {fix}", "**修改**：{fix}"),  # CommonMark: no bold close after "："
    "check.basis": ("Basis: {name}, {section}", "依据：{name}，{section}"),
    # Library
    "library.title": ("Library", "文库"),
    "library.add": ("Add files", "添加文件"),
    "library.accepted": ("Accepted: {types}, up to {mb} MB each. Markdown front matter and PDF/DOCX properties give "
                         "the title, number, date and status; without them, the number and date are read from the "
                         "text.",
                         "可上传 {types}，每个文件不超过 {mb} MB。标题、文号、日期和状态取自 Markdown 文件开头的元数据或 "
                         "PDF/DOCX 的文档属性；没有的，文号和日期从正文中读取。"),
    "library.files": ("Files", "文件"),
    "library.type": ("What kind of documents are they?", "文件类型"),
    "library.type_placeholder": ("Choose a type…", "请选择类型……"),
    "library.submit": ("Add to the knowledge base", "添加到知识库"),
    "library.choose_type": ("Choose what kind of documents these are (regulation, official document, minutes or "
                            "other), then add them.", "请先选择文件类型（法规制度、公文、会议纪要或其他），再点击添加。"),
    "library.choose_files": ("Choose at least one file to add.", "请至少选择一个文件。"),
    "library.reading": ("Reading…", "正在读取……"),
    "library.stage.reading": ("Reading", "读取"),
    "library.stage.embedding": ("Embedding", "编码"),
    "library.stage.indexing": ("Indexing", "建立索引"),
    "library.progress": ("{stage} {done}/{total}", "{stage} {done}/{total}"),
    "library.done": ("Done", "完成"),
    "library.queued": ("Another ingest is running: your files are queued and will be added when it finishes.",
                       "另一个导入正在进行：您的文件已排队，完成后会自动添加。"),
    "library.status.added": ("added", "已添加"),
    "library.status.replaced": ("replaced", "已替换"),
    "library.status.unchanged": ("unchanged", "未改变"),
    "library.status.failed": ("failed", "失败"),
    "library.passages": (" ({n} passages)", "（{n} 段）"),
    "library.passage": (" (1 passage)", "（1 段）"),
    "library.result": ("**{name}**: {status}{detail}", "**{name}**：{status}{detail}"),
    "library.failed": ("{line}: {reason}", "{line}：{reason}"),
    "library.none": ("No documents yet: add files above.", "还没有文档：请在上方添加文件。"),
    "library.pick": ("Click a row to open its document.", "点击表格中的一行即可打开该文档。"),
    "col.title": ("Title", "标题"),
    "col.type": ("Type", "类型"),
    "col.status": ("Status", "状态"),
    "col.level": ("Level", "密级"),
    "col.number": ("Number", "文号"),
    "col.date": ("Date", "日期"),
    "col.passages": ("Passages", "段落"),
    "col.ingested": ("Last ingested (UTC)", "最后导入（UTC）"),
    "library.ingested": ("ingested {at} UTC", "导入于 {at} UTC"),
    "col.id": ("ID", "编号"),
    "library.reindex": ("Re-index all files", "重新索引全部文件"),
    "library.reindex_help": ("Read every source file again and re-encode the index", "重新读取所有源文件并重新编码索引"),
    "library.reindex_confirm": ("Read all {n} documents' files again and re-encode the index? Answers go on from "
                                "the current index meanwhile.", "重新读取全部 {n} 篇文档的文件并重新编码索引？期间仍按当前索引回答问题。"),
    "library.reindex_button": ("Re-index", "重新索引"),
    "library.reindex_refused": ("A re-index would remove {n} of {total} documents: {why}. Nothing was changed. "
                                "Check the sources; to remove them anyway, use the button below.",
                                "重新索引将删除 {total} 篇文档中的 {n} 篇（{why}）。没有做任何更改。请检查源文件；"
                                "如确要删除，请点击下方按钮。"),
    "library.reindex_force": ("Remove {n} documents anyway", "仍然删除这 {n} 篇文档"),
    "library.reindexing": ("Re-indexing…", "正在重新索引……"),
    "library.reindexed": ("Re-indexed {n} file(s); {failed} failed.", "已重新索引 {n} 个文件，失败 {failed} 个。"),
    "library.superseded": ("Superseded by {name}.", "已被替代，替代文件：{name}。"),
    "library.outline": ("Outline", "目录"),
    "library.opening": ("(before the first heading)", "（首个标题之前）"),
    "library.passages_tab": ("Passages ({n})", "段落（{n}）"),
    "library.outline_count": ("{n} passage(s)", "{n} 段"),
    "library.page": ("Page", "页码"),
    "library.page_of": ("Page {page} of {pages}", "第 {page} 页，共 {pages} 页"),
    "library.characters": ("characters {start}–{end}", "字符 {start}–{end}"),
    "library.delete": ("Delete this document", "删除此文档"),
    "library.level": ("Security level", "密级"),
    "library.groups": ("Departments that may read it (none: everyone cleared for the level)",
                       "可阅部门（不选：具备该密级的所有人）"),
    "library.groups_typed": ("Departments that may read it, separated by commas (empty: everyone cleared)",
                             "可阅部门，以逗号分隔（留空：具备该密级的所有人）"),
    "library.access": ("Level: {level} · readers: {groups}", "密级：{level} · 可阅：{groups}"),
    "library.all_groups": ("everyone cleared for it", "具备该密级的所有人"),
    "library.set_access": ("Who may read it", "阅读权限"),
    "library.set_access_button": ("Save", "保存"),
    "library.delete_confirm": ("Remove **{title}** from the knowledge base? The file itself stays on disk.",
                               "从知识库中删除《{title}》？文件本身仍保留在磁盘上。"),
    "library.delete_button": ("Delete", "删除"),
    "library.deleted": ("Deleted {title}.", "已删除《{title}》。"),
}))


def language() -> str:
    """This session's language: the ``language`` setting, "auto" following the browser."""
    try:
        setting = load_settings().language
    except KbError:  # the page reports a bad setting when it opens the knowledge base
        setting = "auto"
    try:
        locale = st.context.locale
    except Exception:  # no browser (a bare script run)
        locale = None
    return language_for(setting, locale)


def t(key: str, **fields: object) -> str:
    """The string ``key`` in this session's language."""
    return APP.t(language(), key, **fields)


def error(message: str) -> str:
    """A library error (English) in this session's language, when the catalogue of patterns knows it."""
    return translate_error(language(), message)


def kind_label(doc_type: str) -> str:
    return type_label(language(), doc_type)


def status_name(status: str) -> str:
    return status_label(language(), status)
