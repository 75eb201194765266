"""The interface's words in English and Chinese: catalogues of strings by short id, and the
library's error messages translated by pattern.

The library raises its errors in English (``KbError``); the CLI and the app show them in the
user's language through `translate_error`, which matches each message against a template with
named groups and fills in the Chinese one, falling back to the English text for a message it
does not know. The library's messages themselves are never rewritten.

The CLI's strings are here (`CLI`); the app keeps its own catalogue (``app_pages/i18n.py``),
built the same way. Labels of document types and statuses are shared (`LABELS`).
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping

LANGUAGES = ("en", "zh")


def language_for(setting: str, locale: str | None = None) -> str:
    """The language to speak: "en" or "zh".

    Args:
        setting: The ``language`` setting: "en", "zh" or "auto".
        locale: The browser's language ("zh-CN", "en-GB"), when there is one; "auto"
            follows it, and means English without one (the CLI).
    """
    if setting in LANGUAGES:
        return setting
    return "zh" if (locale or "").lower().startswith("zh") else "en"


class Catalogue:
    """Strings by short id, each in English and Chinese: ``{"ask.title": ("Ask", "提问")}``."""

    def __init__(self, strings: Mapping[str, tuple[str, ...]]) -> None:
        self.strings = dict(strings)

    def t(self, language: str, key: str, **fields: object) -> str:
        """The string ``key`` in ``language``, its ``{fields}`` filled in.

        Raises:
            KeyError: ``key`` is not in the catalogue.
        """
        text = self.strings[key][LANGUAGES.index(language) if language in LANGUAGES else 0]
        return text.format(**fields) if fields else text

    def problems(self) -> list[str]:
        """What is wrong with the catalogue: a missing or empty translation, fields that differ."""
        found = []
        for key, texts in self.strings.items():
            if len(texts) != len(LANGUAGES) or not all(isinstance(t, str) and t.strip() for t in texts):
                found.append(f"{key}: needs one non-empty text for each of {', '.join(LANGUAGES)}")
                continue
            names = [sorted({f for _, f, _, _ in string.Formatter().parse(t) if f}) for t in texts]
            if any(n != names[0] for n in names):
                found.append(f"{key}: the languages use different fields {names}")
        return found

    def merged(self, other: Catalogue) -> Catalogue:
        return Catalogue({**self.strings, **other.strings})


# -- shared labels --------------------------------------------------------------------------------

LABELS = Catalogue({
    "type.regulation": ("Regulation", "法规制度"),
    "type.document": ("Official document", "公文"),
    "type.minutes": ("Minutes", "会议纪要"),
    "type.other": ("Other", "其他"),
    "status.in_force": ("In force", "现行有效"),
    "status.superseded": ("Superseded", "已被替代"),
    "status.repealed": ("Repealed", "已废止"),
    # As a clause: "This document is superseded by ..."
    "status_note.superseded": ("superseded", "已被替代"),
    "status_note.repealed": ("repealed", "已废止"),
    "status_note.by": ("{status} by {name}", "{status}，替代文件：{name}"),
    "not_found": ("Not found in the knowledge base.", "未在知识库中找到。"),
    "ocr": ("text read by OCR", "文字经 OCR 识别"),
    "whole_document": ("whole document", "全文"),
    "page": ("page {page}", "第 {page} 页"),
    "no_number": ("no number", "无文号"),
    "undated": ("undated", "无日期"),
    "issuer_unknown": ("issuer unknown", "发文机关不详"),
    "similarity": ("similarity {score}", "相似度 {score}"),
    "separator": (", ", "，"),
    # the draft checker's findings
    "check.severity.error": ("error", "错误"),
    "check.severity.warning": ("warning", "警告"),
    "check.severity.note": ("note", "提示"),
    "check.line": ("line {n}", "第 {n} 行"),
    "check.paragraph": ("paragraph {n}", "第 {n} 段"),
    "check.whole": ("whole draft", "全文"),
    "check.count": ("{n} {severity}", "{severity} {n} 处"),
})


_LOCATION = re.compile(r"(line|paragraph) (\d+)")


def draft_location(language: str, location: str) -> str:
    """Where a finding is ('line 3', 'paragraph 4', 'whole draft'), as ``language`` says it."""
    if location == "whole draft":
        return LABELS.t(language, "check.whole")
    match = _LOCATION.fullmatch(location)
    return LABELS.t(language, f"check.{match.group(1)}", n=match.group(2)) if match else location


def check_summary(language: str, report) -> str:
    """'2 errors, 1 warning, 0 notes' (a kb.check Report's counts) in ``language``."""
    from kb.check.report import Severity

    if language == "en":
        return report.summary()
    return LABELS.t(language, "separator").join(
        LABELS.t(language, "check.count", severity=LABELS.t(language, f"check.severity.{s.value}"), n=report.count(s))
        for s in Severity)


def type_label(language: str, doc_type: str) -> str:
    key = f"type.{doc_type}"
    return LABELS.t(language, key) if key in LABELS.strings else doc_type


def status_label(language: str, status: str) -> str:
    key = f"status.{status}"
    return LABELS.t(language, key) if key in LABELS.strings else status


# -- the CLI ------------------------------------------------------------------------------------------

CLI = LABELS.merged(Catalogue({
    "error": ("Error: {message}", "错误：{message}"),
    "warning": ("warning: {message}", "警告：{message}"),
    "stage.reading": ("reading", "读取"),
    "stage.embedding": ("embedding", "编码"),
    "stage.indexing": ("indexing", "建立索引"),
    "unit.step": ("step", "步"),
    "unit.file": ("file", "个文件"),
    "unit.chunk": ("chunk", "段"),
    "ingest.no_paths": ("give at least one file or folder to ingest, e.g. `kb ingest corpus/`",
                        "请至少给出一个要导入的文件或文件夹，例如 `kb ingest corpus/`"),
    "ingest.waiting": ("Another ingest is running: waiting for it…", "另一个导入正在进行：等待其完成……"),
    "ingest.added": ("added", "已添加"),
    "ingest.replaced": ("replaced", "已替换"),
    "ingest.unchanged": ("unchanged", "未改变"),
    "ingest.removed": ("removed", "已删除"),
    "ingest.failed": ("failed", "失败"),
    "ingest.line": ("{path}: {ids} ({chunks} chunks)", "{path}：{ids}（{chunks} 段）"),
    "ingest.count": ("{n} {status}", "{status} {n}"),
    "ingest.summary": ("{counts}; {index}: {documents} documents, {chunks} chunks",
                       "{counts}；{index}：{documents} 篇文档，{chunks} 段"),
    "no_index": ("no index at {path}: run `kb ingest PATH...` first (or set KB_INDEX / --index)",
                 "{path} 下没有索引：请先运行 `kb ingest PATH...`（或设置 KB_INDEX / --index）"),
    "not_a_date": ("{flag} {value!r} is not a date: write it as YYYY-MM-DD, e.g. 2024-03-01",
                   "{flag} {value!r} 不是日期：请写成 YYYY-MM-DD，例如 2024-03-01"),
    "searched_for": ("Searched for: {query}", "实际检索：{query}"),
    "note": ("Note: {note}", "说明：{note}"),
    "no_passages": ("No passages found.", "没有找到段落。"),
    "score": ("score {score}", "得分 {score}"),
    "sources": ("Sources:", "来源："),
    "not_found_because": ("{text} ({note})", "{text}原因：{note}。"),
    "related": ("Possibly related passages:", "可能相关的段落："),
    "closest": ("Closest passages (none of them answers it):", "最接近的段落（均未回答这个问题）："),
    "docs.id": ("ID", "编号"),
    "docs.type": ("TYPE", "类型"),
    "docs.status": ("STATUS", "状态"),
    "docs.passages": ("PASSAGES", "段落"),
    "docs.number": ("NUMBER", "文号"),
    "docs.date": ("DATE", "日期"),
    "docs.title": ("TITLE", "标题"),
    "docs.count": ("{n} documents", "共 {n} 篇文档"),
    "removed": ("removed {doc_id} ({chunks} chunks)", "已删除 {doc_id}（{chunks} 段）"),
    "stats.index": ("Index", "索引"),
    "stats.documents": ("Documents", "文档"),
    "stats.documents_value": ("{n} ({parts})", "{n} 篇（{parts}）"),
    "stats.documents_none": ("none", "无"),
    "stats.type_count": ("{label} {n}", "{label} {n}"),
    "stats.passages": ("Passages", "段落"),
    "stats.encoder": ("Encoder", "编码模型"),
    "stats.encoder_value": ("{name} ({dim} dimensions, a window of {tokens} tokens, {backend})",
                            "{name}（{dim} 维，窗口 {tokens} 个词元，{backend}）"),
    "stats.chunking": ("Chunking", "切分"),
    "stats.chunking_value": ("passages of at most {max} tokens; smaller units than {min} tokens are merged",
                             "每段至多 {max} 个词元；小于 {min} 个词元的单元合并"),
    "stats.updated": ("Updated", "更新时间"),
    "stats.format": ("Format version", "格式版本"),
    "check.similar": ("Similar past documents:", "相似的往期文档："),
    "check.heading": ("{draft}: {kind} ({how}); {summary}", "{draft}：{kind}（{how}）；{summary}"),
    "check.how.title": ("from the title", "按标题判断"),
    "check.how.given": ("as given", "按指定"),
    "check.how.unknown": ("not named by the title", "标题未写明文种"),
    "check.kind_unknown": ("kind unknown", "文种不详"),
    "check.fix": ("Fix: {fix}", "修改：{fix}"),
    "check.basis": ('Basis: {source}, {section}: "{text}"', "依据：{source}，{section}：“{text}”"),
    "check.no_similar": ("No past document of this kind is indexed.", "知识库中没有这一文种的往期文档。"),
}))


# -- library errors, by pattern ------------------------------------------------------------------------
# Each English message template, as the library writes it, with named groups for what varies;
# the Chinese template refills them. Matched whole (re.fullmatch, DOTALL).

_ERRORS_ZH: list[tuple[str, str]] = [
    # queries
    (r"the query is empty: type a question or some words to search for", "问题为空：请输入问题或要检索的词语"),
    (r"the query has (?P<n>\d+) characters, more than the limit of (?P<limit>\d+): .*",
     "问题有 {n} 个字符，超过 {limit} 个字符的上限：请缩短，或调高 max_query_chars（KB_MAX_QUERY_CHARS）"),
    # the index
    (r"no index at (?P<path>.+?): (?:run|the rules rest on).*",
     "{path} 下没有索引：请先运行 `kb ingest PATH...` 导入文件（或设置 KB_INDEX / --index）"),
    (r"index (?P<path>.+?) was built with encoder (?P<built>.+?), but the settings ask for (?P<asked>.+?): .*",
     "索引 {path} 由编码模型 {built} 建立，但设置要求 {asked}：请运行 `kb ingest --rebuild` 重新编码"),
    (r"index (?P<path>.+?) has format version (?P<version>\S+), this program reads (?P<reads>\S+): .*",
     "索引 {path} 的格式版本为 {version}，本程序读取 {reads}：请运行 `kb ingest --rebuild PATH...` 重建"),
    (r"index (?P<path>.+?) is damaged: (?P<what>.+?)\. Rebuild it .*",
     "索引 {path} 已损坏（{what}）：请用 `kb ingest --rebuild PATH...` 从原文件重建"),
    (r"(?P<path>\S+manifest\.json) (?:is unreadable|is not a manifest|lacks).*",
     "{path} 无法读取：请用 `kb ingest --rebuild PATH...` 从原文件重建索引"),
    (r"index (?P<path>.+?) was chunked with .*", "索引 {path} 的切分参数与设置不同：请运行 `kb ingest --rebuild` 重新切分"),
    (r"another ingest is writing (?P<path>.+?): wait for it to finish, then try again",
     "另一个导入正在写入 {path}：请等它完成后再试"),
    (r"cannot write the index at (?P<path>.+?): (?P<reason>.+?)\. Nothing was changed; (?P<fix>.+), then run again",
     "无法写入 {path} 的索引（{reason}）。没有做任何更改；请处理后重试（{fix}）"),
    (r"no document (?P<doc>'.*') in (?P<path>.+?): `kb docs` lists the ids",
     "{path} 中没有文档 {doc}：`kb docs` 列出所有编号"),
    (r"(?P<what>.+?) would remove (?P<n>\d+) of (?P<total>\d+) documents: (?P<why>.+?)\. Nothing was changed\. "
     r"Check the sources; to remove them anyway, run again with --force",
     "这次操作将删除 {total} 篇文档中的 {n} 篇（{why}）。没有做任何更改。请检查源文件；如确要删除，请加 --force 重新运行"),
    (r"their source folder (?P<path>.+) is missing or empty \(an unmounted share\?\)",
     "它们的源文件夹 {path} 不存在或为空（网络共享未挂载？）"),
    (r"that is (?P<share>\d+%) of them, over the (?P<limit>\d+%) limit \(max_removal_share\)",
     "占全部文档的 {share}，超过 {limit} 的上限（max_removal_share）"),
    # uploads and files
    (r"(?P<name>.+?): (?P<suffix>\S+) files are not accepted; upload one of (?P<accepted>.+)",
     "{name}：不接受 {suffix} 文件；请上传以下格式之一：{accepted}"),
    (r"(?P<name>.+?): no extension files are not accepted; upload one of (?P<accepted>.+)",
     "{name}：没有扩展名的文件不被接受；请上传以下格式之一：{accepted}"),
    (r"(?P<name>.+?): the file is empty", "{name}：文件为空"),
    (r"(?P<name>.+?): (?P<size>[\d.]+) MB is over the (?P<limit>[\d.]+) MB limit; .*",
     "{name}：{size} MB 超过 {limit} MB 的上限；请拆分文件"),
    (r"the file name (?P<name>.+) has no usable characters: .*", "文件名 {name} 没有可用字符：请重命名后再上传"),
    (r"(?P<name>.+?): a file of this name is already in this upload; rename one of them",
     "{name}：本次上传中已有同名文件；请重命名其中一个"),
    (r"(?P<name>.+?): refused, the name points outside the upload folder", "{name}：已拒绝，文件名指向上传文件夹之外"),
    (r"(?P<path>.+?) is empty \(0 bytes\)", "{path} 是空文件（0 字节）"),
    (r"(?P<path>.+?) has no text.*", "{path} 没有文字内容"),
    (r"(?P<path>.+?): unsupported file type (?P<suffix>\S+); supported: (?P<accepted>.+?)\. .*",
     "{path}：不支持 {suffix} 文件；支持：{accepted}。请先转换为其中一种格式"),
    (r"(?P<path>.+?) is not a readable PDF.*", "{path} 不是可读取的 PDF：请确认它能在阅读器中打开，或另存为新的 PDF"),
    (r"(?P<path>.+?) is encrypted.*", "{path} 已加密：请保存一份未加密的副本再导入"),
    (r"(?P<path>.+?) is not a readable \.docx file.*",
     "{path} 不是可读取的 .docx 文件：如果是旧的 .doc 或其他格式，请在 Word 中另存为 .docx"),
    (r"(?P<path>.+?) looks like a binary file, not text; .*", "{path} 看起来是二进制文件而不是文本：请检查扩展名和内容"),
    (r"(?P<path>.+?): cannot tell its text encoding .*", "{path}：无法判断文本编码（不是 UTF-8）：请另存为 UTF-8"),
    (r"(?P<path>.+?): (?:invalid YAML front matter|front matter).*", "{path}：文件开头的元数据（YAML front matter）有误：请修正"),
    (r"(?P<where>.+?): type (?P<value>.+?) is not one of .*", "{where}：类型 {value} 无效，应为 regulation、document、minutes 或 other"),
    (r"(?P<where>.+?): status (?P<value>.+?) is not one of .*", "{where}：状态 {value} 无效，应为 in_force、superseded 或 repealed"),
    (r"(?P<where>.+?): date (?P<value>.+?) is not a valid date; .*", "{where}：日期 {value} 无效；请写成 YYYY-MM-DD"),
    (r"(?P<path>.+?) holds (?P<n>[\d,]+) characters, over the limit of (?P<limit>[\d,]+) per file .*",
     "{path} 有 {n} 个字符，超过每个文件 {limit} 个字符的上限（max_file_chars）：请拆分文件"),
    (r"(?P<path>.+?): document id (?P<doc>'.*') is already taken by (?P<other>.+?); .*",
     "{path}：文档编号 {doc} 已被 {other} 占用；请重命名其中一个文件"),
    # feedback, settings, drafts
    (r"the feedback file (?P<path>.+?) cannot be (?:used|written) .*",
     "反馈文件 {path} 无法使用：请把它移到别处（会新建一个），或把 KB_FEEDBACK_DB 设为另一个文件"),
    (r"(?P<path>.+?) is not valid TOML: .*", "{path} 不是有效的 TOML 文件"),
    (r"language (?P<value>'.*') is not one of .*", "language {value} 无效，应为 auto、en 或 zh"),
    (r"(?P<name>.+?) is empty: paste or upload the draft's text", "{name} 为空：请粘贴或上传文稿"),
    (r"(?P<path>.+?): a draft must be \.docx, \.md or \.txt, .*", "{path}：文稿必须是 .docx、.md 或 .txt 文件"),
    (r"(?P<n>\d+) rule\(s\) of (?P<path>.+?) rest on articles the knowledge base does not hold in force:\n(?P<list>.*)",
     "{path} 中有 {n} 条规则所依据的条款不在知识库中（或已失效）：\n{list}"),
    (r"no rule set for (?:Chinese|English) drafts: (?P<path>.+?) does not exist .*",
     "没有适用于该语言文稿的规则集：{path} 不存在"),
    # why an answer is "not found" (Answer.note)
    (r"no passage is close enough \(best similarity (?P<best>[\d.]+)\)", "没有足够接近的段落（最高相似度 {best}）"),
    (r"the best passages do not answer it \(confidence (?P<p>[\d.]+)\)", "最相关的段落并未回答这个问题（置信度 {p}）"),
    (r"it asks about (?P<words>.+), which no document mentions", "问题涉及的 {words} 在所有文档中都没有出现"),
    (r"no document of (?P<years>[\d, ]+) answers it", "没有 {years} 年的文档回答这个问题"),
    (r"nothing in the knowledge base matches it", "知识库中没有与之匹配的内容"),
    (r"the passages found hold only headings", "找到的段落只有标题"),
    (r"the filters leave out the documents that answer it, such as (?P<title>.+): clear the filters to see the answer",
     "筛选条件排除了能回答它的文档，例如《{title}》：清除筛选条件即可看到答案"),
]
ERRORS: dict[str, list[tuple[re.Pattern[str], str]]] = {
    "zh": [(re.compile(pattern, re.S), template) for pattern, template in _ERRORS_ZH],
}


def translate_error(language: str, message: str) -> str:
    """``message`` (a library error, in English) in ``language``; the English text when no pattern knows it."""
    for pattern, template in ERRORS.get(language, ()):
        match = pattern.fullmatch(message)
        if match:
            return template.format(**match.groupdict())
    return message


def answer_text(language: str, answer, records) -> str:
    """An answer's text in ``language``: "not found" translated, and the status notes the answerer puts
    after a quote from a superseded document (" (superseded by Title (id))") given in that language.

    The quotes themselves are the documents' own words and stay as they are.
    """
    from kb.answer import NOT_FOUND, status_label as english_status

    if not answer.found:
        return LABELS.t(language, "not_found") if answer.text == NOT_FOUND else answer.text
    text = answer.text
    if language == "en":
        return text
    for citation in answer.citations:
        hit = citation.hit
        english = english_status(records, hit)
        if english:
            text = text.replace(f" ({english})", f"（{status_clause(language, hit, records)}）")
    return text


def status_clause(language: str, hit, records) -> str:
    """"superseded by Title" (as in "this document is ..."); "" for a document in force."""
    if hit.status == "in_force":
        return ""
    key = f"status_note.{hit.status}"
    status = LABELS.t(language, key) if key in LABELS.strings else hit.status
    if hit.superseded_by:
        record = records.get(hit.superseded_by)
        name = record.document.title if record else hit.superseded_by
        status = LABELS.t(language, "status_note.by", status=status, name=name)
    return status
