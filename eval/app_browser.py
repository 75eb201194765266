"""Drive the running app in headless Chromium: time answers and screenshot every page.

    python eval/app_browser.py http://127.0.0.1:8501 --questions 20 --shots /tmp/shots

Asks the first N questions of eval/gold.jsonl (spread over its kinds) on the Ask
page, one at a time, timing each from Enter until its answer (a source card or
"Not found") is on screen, and prints the p50 and p95. Then saves a screenshot
of Start here, Ask, Search precedent (with a query and similar documents) and
Library (with a document open) into --shots.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from playwright.sync_api import expect, sync_playwright

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run", "--disable-sync", "--disable-quic"]
GOLD = Path(__file__).with_name("gold.jsonl")


def spread(n: int) -> list[str]:
    rows = [json.loads(line) for line in GOLD.read_text(encoding="utf-8").splitlines() if line.strip()]
    by_kind: dict[str, list[str]] = {}
    for row in rows:
        by_kind.setdefault(row["kind"], []).append(row["question"])
    picked: list[str] = []
    while len(picked) < n and any(by_kind.values()):
        for questions in by_kind.values():
            if questions and len(picked) < n:
                picked.append(questions.pop(0))
    return picked


def ask(page, question: str, nth: int) -> float:
    box = page.get_by_placeholder("Ask about drafting")
    box.fill(question)
    started = time.perf_counter()
    box.press("Enter")
    # The nth assistant message carries its thumbs once the answer is drawn.
    expect(page.locator('[data-testid="stChatMessage"]')).to_have_count(2 * nth, timeout=60_000)
    expect(page.locator('[data-testid="stFeedback"], .stFeedback').nth(nth - 1)).to_be_visible(timeout=60_000)
    return (time.perf_counter() - started) * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("--questions", type=int, default=20)
    parser.add_argument("--shots", type=Path, default=Path("/tmp/kb-shots"))
    args = parser.parse_args()
    args.shots.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS, headless=True)
        page = browser.new_page(viewport={"width": 1400, "height": 1100})

        page.goto(f"{args.url}/")
        page.get_by_role("button", name="How is the attachment note placed?").wait_for(timeout=60_000)
        page.screenshot(path=str(args.shots / "start.png"), full_page=True)

        page.goto(f"{args.url}/ask")
        page.get_by_placeholder("Ask about drafting").wait_for(timeout=60_000)
        times = [ask(page, q, n) for n, q in enumerate(spread(args.questions), 1)]
        print(json.dumps({"questions": len(times), "p50_ms": round(statistics.median(times)),
                          "p95_ms": round(sorted(times)[int(0.95 * (len(times) - 1))]),
                          "first_ms": round(times[0])}))
        page.get_by_text("Clear conversation").click()
        ask(page, "How is the attachment note placed?", 1)
        page.screenshot(path=str(args.shots / "ask.png"), full_page=True)

        page.goto(f"{args.url}/search")
        box = page.get_by_placeholder("e.g. funding request")
        box.wait_for(timeout=60_000)
        box.fill("funding request for archives digitisation")
        box.press("Enter")
        page.get_by_text("Similar documents").first.wait_for(timeout=60_000)
        page.get_by_text("Similar documents").first.click()
        page.get_by_text("similarity").first.wait_for(timeout=60_000)
        page.screenshot(path=str(args.shots / "search.png"), full_page=True)

        page.goto(f"{args.url}/library")
        chooser = page.locator('[data-testid="stSelectbox"]').filter(has_text="Open a document")
        chooser.wait_for(timeout=60_000)
        chooser.click()
        page.keyboard.type("meeting-management")
        page.keyboard.press("Enter")
        page.get_by_role("tab", name="Outline").wait_for(timeout=60_000)
        page.screenshot(path=str(args.shots / "library.png"), full_page=True)
        browser.close()
    print(f"screenshots in {args.shots}")


if __name__ == "__main__":
    main()
