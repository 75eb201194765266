"""The app in Chinese (language = "zh"): every page speaks it, and the catalogue is complete."""

from __future__ import annotations

import string
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from app_pages.i18n import APP
from kb.encoder import HashingEncoder
from kb.index import KnowledgeBase
from tests.app.test_pages import APP as APP_FILE
from tests.app.test_pages import ask, open_document, texts
from tests.conftest import write


def test_every_app_string_is_in_both_languages_with_the_same_fields() -> None:
    assert APP.problems() == []


def test_starter_questions_exist_in_both_languages_for_the_same_areas() -> None:
    from app_pages.starters import STARTERS

    assert set(STARTERS) == {"en", "zh"}
    assert list(STARTERS["en"]) == list(STARTERS["zh"]) == ["documents", "meetings", "affairs"]
    assert all(len(q) == 4 for lang in STARTERS.values() for q in lang.values())
    assert all(question.endswith("？") for q in STARTERS["zh"].values() for question in q)


@pytest.fixture
def zh_env(app_env, monkeypatch) -> dict[str, Path]:
    monkeypatch.setenv("KB_LANGUAGE", "zh")
    return app_env


def page(name: str) -> AppTest:
    at = AppTest.from_file(APP_FILE, default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    if name != "start":
        at.switch_page(f"app_pages/{name}.py").run()
        assert not at.exception, at.exception
    return at


# English strings of the catalogue that no Chinese page may show (those without fields, which are
# shown as they are; one word like "ID" may be the same in both).
ENGLISH = {texts[0] for texts in APP.strings.values()
           if not any(f for _, f, _, _ in string.Formatter().parse(texts[0])) and texts[0] != texts[1]}


def shown(at: AppTest) -> list[str]:
    """Every label and text on the page and in its sidebar."""
    found = [e.value for kind in ("title", "header", "subheader", "caption", "markdown", "info", "warning",
                                 "error", "success") for e in at.get(kind)]
    found += [w.label for kind in ("button", "multiselect", "selectbox", "text_input", "text_area", "checkbox",
                                   "toggle", "expander", "tab", "chat_input", "file_uploader", "metric")
              for w in at.get(kind) if getattr(w, "label", None)]
    found += [w.placeholder for kind in ("multiselect", "selectbox", "text_input", "text_area", "chat_input")
              for w in at.get(kind) if getattr(w, "placeholder", None)]
    return found


def assert_chinese(at: AppTest) -> None:
    english = [s for s in shown(at) if s in ENGLISH]
    assert english == [], english


def test_start_page_in_chinese_asks_a_chinese_starter(zh_env) -> None:
    at = page("start")
    assert_chinese(at)
    assert at.title[0].value == "办公知识库"
    assert [s.value for s in at.subheader] == ["知识库概况", "试一试"]
    assert [m.label for m in at.metric] == ["法规制度", "公文", "会议纪要", "其他"]
    assert "共 **5** 篇文档" in texts(at) and "已被替代 1 篇" in texts(at)
    starter = at.button(key="starter-meetings-0")
    assert starter.label == "常务会议的会议通知最迟在会前几个工作日发出？"
    starter.click().run()
    assert not at.exception, at.exception
    assert "会议通知应当至少提前三个工作日发出" in texts(at)
    assert_chinese(at)


def test_ask_page_in_chinese_cards_badges_and_not_found(zh_env) -> None:
    at = page("ask")
    assert at.title[0].value == "向知识库提问"
    assert at.chat_input[0].placeholder.startswith("请输入")
    assert [m.label for m in at.sidebar.multiselect] == ["类型", "状态"]
    assert at.sidebar.button(key="clear-chat").label == "清空对话"
    assert at.sidebar.button(key="clear-chat").disabled  # no conversation yet
    ask(at, "会议通知应当提前几个工作日发出？")
    assert not at.sidebar.button(key="clear-chat").disabled  # enabled by the first question
    body = texts(at)
    assert "**[1]**" in body and ":blue-badge[法规制度] :green-badge[现行有效]" in body
    assert any(c.value.startswith("用时 ") for c in at.caption)
    assert any(b.label.startswith("下载 ") for b in at.get("download_button"))
    ask(at, "What is the recipe for a chocolate cake with vanilla frosting?")
    assert any(e.value.startswith("未在知识库中找到。原因：") for e in at.error)
    assert "最接近的段落（均未回答这个问题）：" in body + texts(at)
    assert_chinese(at)
    at.sidebar.button(key="clear-chat").click().run()
    assert not at.chat_message


def test_a_superseded_source_says_so_in_chinese(zh_env) -> None:
    at = page("ask")
    at.sidebar.multiselect(key="ask-status").set_value(["superseded"]).run()
    ask(at, "how long are duty records kept")
    warnings = [w.value for w in at.warning]
    assert any(w.startswith("本文件已被替代，替代文件：Rules on Duty Work") for w in warnings), warnings
    answer = next(m.value for m in at.markdown if "**[1]**" in m.value)
    assert "（已被替代，替代文件：Rules on Duty Work" in answer and "superseded by" not in answer


def test_search_page_in_chinese_one_set_of_filters(zh_env) -> None:
    at = page("search")
    assert at.title[0].value == "查找先例"
    assert at.sidebar.caption[0].value.startswith("检索后可按")
    at.text_input(key="precedent-query").set_value("会议通知 工作日").run()
    assert not at.exception, at.exception
    assert [s.value for s in at.sidebar.subheader] == ["筛选"]
    assert [m.label for m in at.sidebar.multiselect] == ["类型", "发文机关", "年份", "状态"]
    assert at.caption[1].value.startswith("共 ")
    assert any(c.value.startswith("最佳匹配：") for c in at.caption)
    assert_chinese(at)


def test_check_page_in_chinese_translates_the_rules_error(zh_env) -> None:
    at = page("check")
    assert at.title[0].value == "文稿检查"
    assert at.error[0].value.startswith("规则无法使用：")
    assert "条规则所依据的条款不在知识库中" in at.error[0].value
    assert_chinese(at)


def test_check_page_in_chinese_lists_findings(check_env, monkeypatch) -> None:
    from tests.check.test_bundled_rules import CHINESE

    monkeypatch.setenv("KB_LANGUAGE", "zh")
    at = page("check")
    assert at.selectbox(key="check-kind").label == "文种"
    assert at.selectbox(key="check-kind").options[:2] == ["（按标题判断）", "决议"]
    at.text_area(key="check-text").set_value(CHINESE)
    at.button(key="check-submit").click().run()
    assert not at.exception, at.exception
    assert at.subheader[0].value.startswith("粘贴的文稿：错误 ")
    body = texts(at)
    assert ":red-badge[错误] **第 " in body and "**修改**：" in body
    assert any(e.label.startswith("依据：党政机关公文处理工作条例") for e in at.expander)
    assert_chinese(at)


def test_library_in_chinese_row_selection_outline_and_paged_passages(zh_env, corpus: Path, settings) -> None:
    filler = ("The Archives Office receives the files of every division, checks that each file is complete, "
              "lists it in the register with its reference, date and keeper, and stores it in the strong room "
              "where the temperature and humidity are checked every working day by the staff on duty.")
    articles = "\n\n".join(f"Article {n} Record series {n} is kept for {n} years. {filler}" for n in range(1, 46))
    write(corpus / "regulations" / "archives-rules.md", "# Rules on the Archives\n\n## Chapter 1 General\n\n"
          f"Article 0 These rules govern the archives. {filler}\n\n## Chapter 2 Records\n\n" + articles + "\n")
    assert not KnowledgeBase(settings, HashingEncoder()).ingest([corpus]).failed
    at = page("library")
    assert at.title[0].value == "文库"
    assert at.expander[0].label == "添加文件"
    assert at.selectbox(key="upload-type").placeholder == "请选择类型……"
    assert_chinese(at)
    open_document(at, "regulations/archives-rules")
    assert at.subheader[0].value == "Rules on the Archives"
    assert [t.label for t in at.tabs][:1] == ["目录"]
    passages = int(at.tabs[1].label.removeprefix("段落（").removesuffix("）"))
    assert passages > 40
    # The outline is a tree: each chapter groups its articles, indented under it.
    chapter = next(e for e in at.expander if e.label.startswith("Chapter 2 Records · "))
    tree = chapter.markdown[0].value.splitlines()
    assert tree[0] == "- Article 1" and tree[-1] == "- Article 45"
    # Passages come 20 to a page.
    pager = at.selectbox(key="passages-page-regulations/archives-rules")
    assert pager.label == "页码" and pager.options[0] == f"第 1 页，共 {-(-passages // 20)} 页"
    shown_first = [m.value for m in at.tabs[1].markdown if m.value.startswith("**")]
    assert len(shown_first) == 20 and shown_first[0].startswith("**1.**")
    pager.set_value(2).run()
    shown_second = [m.value for m in at.tabs[1].markdown if m.value.startswith("**")]
    assert shown_second[0].startswith("**21.**")
    assert "字符 " in shown_second[0]


def test_an_upload_without_a_type_is_refused_until_one_is_chosen(zh_env) -> None:
    at = page("library")
    at.file_uploader[0].set_value([("parking.md", b"# Parking\n\nArticle 1 Cars park in the east yard.\n",
                                    "text/markdown")])
    at.button(key="upload-submit").click().run()
    assert not at.exception, at.exception
    assert at.error[0].value.startswith("请先选择文件类型")
    assert not (zh_env["uploads"]).exists() or not any(zh_env["uploads"].rglob("*.md"))


def test_the_check_for_english_finds_it_on_an_english_page(app_env) -> None:
    english = [s for s in shown(page("ask")) if s in ENGLISH]
    assert {"Ask the knowledge base", "Filters", "Clear conversation", "Type", "Status"} <= set(english)


# What each Chinese starter question's answer says, in the words of corpus/zh.
ZH_ANSWERS = {
    "请示应当在附注处注明什么？": "联系人和联系电话",
    "发文字号由哪几部分组成？": "发文机关代字、年份和发文顺序号",
    "一般请示件应当在多少个工作日内办结？": "15个工作日内办结",
    # Chinese is ranked by BM25 alone (the encoder reads none of it): the seal rules' Article 18, which
    # names the same signer in fewer words, ranks above the signing article.
    "以办公厅名义印发的公文由谁签发？": ("由秘书长签发", "以办公厅名义印发的公文，凭秘书长或者经秘书长书面授权的副秘书长签发"),
    "常务会议的会议通知最迟在会前几个工作日发出？": "常务会议，会前3个工作日",
    "常务会议原则上每月召开几次？": "每月召开两次",
    "协调会议纪要应当在几个工作日内印发？": "3个工作日内印发",
    "全市性会议主会场参会人数不超过多少人？": "不超过200人",
    "重大突发事件应当在多长时间内电话报告总值班室？": "30分钟内电话报告",
    "值班日志和值班电话录音保存多长时间？": "保存期限为3年",
    "外带印章需要几名工作人员陪同？": "全程2人在场",
    "办公厅新印章自哪一天起启用？": "自2026年3月23日起启用",
}


@pytest.mark.slow
def test_the_chinese_starter_questions_are_answered_by_the_chinese_corpus(tmp_path: Path) -> None:
    from app_pages.starters import STARTERS
    from kb.config import Settings

    corpus = Path(__file__).resolve().parents[2] / "corpus" / "zh"
    kb = KnowledgeBase(Settings(index=tmp_path / "index", uploads=tmp_path / "uploads"))
    assert not kb.ingest([corpus]).failed
    questions = [q for area in STARTERS["zh"].values() for q in area]
    assert sorted(questions) == sorted(ZH_ANSWERS)
    for question in questions:
        answer = kb.ask(question)
        expected = ZH_ANSWERS[question]
        accepted = expected if isinstance(expected, tuple) else (expected,)
        assert answer.found and any(words in answer.text for words in accepted), (question, answer.text)


def test_the_files_stay_chosen_until_a_type_is_and_then_are_added(app_env) -> None:
    at = page("library")
    at.file_uploader[0].set_value([("parking.md", b"# Parking\n\nArticle 1 Cars park in the east yard.\n",
                                    "text/markdown")])
    at.button(key="upload-submit").click().run()
    assert at.error[0].value.startswith("Choose what kind of documents these are")
    assert at.file_uploader[0].value  # still there: choose the type and add them
    at.selectbox(key="upload-type").set_value("regulation")
    at.button(key="upload-submit").click().run()
    assert not at.exception, at.exception
    assert any("parking.md: added" in s.value.replace("\\", "").replace("**", "") for s in at.success)
    assert not at.file_uploader[0].value  # a fresh, empty uploader for the next files
