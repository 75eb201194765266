"""Several people on the app at once: each asks its own questions while one more uploads a file.

    python eval/app_load.py http://127.0.0.1:8501 --sessions 8 --questions 3 --upload big.txt

Opens ``--sessions`` browser sessions (separate cookies, as separate people) on the
Ask page of a running app, in one headless Chromium, and has each ask
``--questions`` different questions of eval/gold.jsonl at the same moment as the
others, while one more session uploads ``--upload`` on the Library page. Each
answer on screen is compared with the answer `kb ask` gives to the same question
alone, against the index the app serves (KB_INDEX), before and after the upload:
an answer counts as its own when it is one of those two, as crossed when it is
another question's, and as failed when the page shows an error. Prints one JSON
object: answered, own, crossed, failed, p50/p95 time from Enter to the drawn
answer (in this Chromium, on the same cores as the server), p50/p95 of the
server's own answer time (the page's "Answered in N ms"), and what became of
the upload.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import statistics
import time
from pathlib import Path

from playwright.async_api import async_playwright, expect

from kb.config import load_settings
from kb.index import KnowledgeBase

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run", "--disable-sync", "--disable-quic"]
GOLD = Path(__file__).with_name("gold.jsonl")


def questions(n: int) -> list[str]:
    rows = [json.loads(line) for line in GOLD.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [r["question"] for r in rows if r["answerable"]][:n]


def expected(qs: list[str]) -> dict[str, str]:
    kb = KnowledgeBase(load_settings())
    return {q: kb.ask(q).text for q in qs}


async def ask_all(page, asked: list[str]) -> list[dict]:
    out = []
    box = page.get_by_placeholder("Ask about drafting")
    for n, question in enumerate(asked, 1):
        await box.fill(question)
        started = time.perf_counter()
        await box.press("Enter")
        messages = page.locator('[data-testid="stChatMessage"]')
        try:
            await expect(messages).to_have_count(2 * n, timeout=120_000)
            reply = messages.nth(2 * n - 1)
            await expect(reply.locator('[data-testid="stFeedback"], .stFeedback')).to_be_visible(timeout=120_000)
            text = await reply.inner_text()
            error = await page.locator('[data-testid="stException"]').count()
            server = re.search(r"Answered in (\d+) ms", text)
            out.append({"question": question, "shown": text, "ms": (time.perf_counter() - started) * 1000,
                        "ask_ms": int(server.group(1)) if server else None, "error": bool(error)})
        except Exception as exc:  # noqa: BLE001 - a timeout is a failed answer, counted
            out.append({"question": question, "shown": "", "ms": None, "ask_ms": None, "error": True,
                        "why": str(exc)[:200]})
    return out


async def upload(page, url: str, path: Path) -> dict:
    await page.goto(f"{url}/library")
    await page.get_by_text("Add files").first.click()
    await page.locator('input[type="file"]').set_input_files(str(path))
    started = time.perf_counter()
    await page.get_by_role("button", name="Add to the knowledge base").click()
    line = page.get_by_text(f"{path.name}:").first
    await line.wait_for(timeout=600_000)
    return {"file": path.name, "result": await line.inner_text(), "s": round(time.perf_counter() - started, 1)}


def first_sentence(answer: str) -> str:
    return answer.split(" [")[0][:60]


async def run(url: str, sessions: int, per_session: int, upload_file: Path | None, shots: Path | None) -> dict:
    qs = questions(sessions * per_session)
    before = expected(qs)
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS, headless=True)
        pages = []
        for _ in range(sessions + (1 if upload_file else 0)):
            context = await browser.new_context(viewport={"width": 1200, "height": 900})
            pages.append(await context.new_page())
        for page in pages[:sessions]:
            await page.goto(f"{url}/ask")
            await page.get_by_placeholder("Ask about drafting").wait_for(timeout=120_000)
        jobs = [ask_all(page, qs[i::sessions]) for i, page in enumerate(pages[:sessions])]
        if upload_file:
            jobs.append(upload(pages[-1], url, upload_file))
        done = await asyncio.gather(*jobs)
        if shots:
            shots.mkdir(parents=True, exist_ok=True)
            for i, page in enumerate(pages):
                await page.screenshot(path=str(shots / f"session-{i + 1}.png"), full_page=True)
        await browser.close()
    after = expected(qs)
    answers = [a for session in done[:sessions] for a in session]
    own = crossed = failed = 0
    for a in answers:
        mine = {first_sentence(before[a["question"]]), first_sentence(after[a["question"]])}
        others = {first_sentence(before[q]) for q in qs if q != a["question"]} - mine
        if a["error"] or not a["shown"]:
            failed += 1
        elif any(s in a["shown"] for s in mine):
            own += 1
        elif any(s in a["shown"] for s in others):
            crossed += 1
        else:
            failed += 1
    times = sorted(a["ms"] for a in answers if a["ms"] is not None)
    asks = sorted(a["ask_ms"] for a in answers if a["ask_ms"] is not None)
    return {
        "sessions": sessions, "asked": len(answers), "own": own, "crossed": crossed, "failed": failed,
        "p50_ms": round(statistics.median(times)) if times else None,
        "p95_ms": round(times[int(0.95 * (len(times) - 1))]) if times else None,
        "ask_p50_ms": round(statistics.median(asks)) if asks else None,
        "ask_p95_ms": asks[int(0.95 * (len(asks) - 1))] if asks else None,
        "upload": done[sessions] if upload_file else None,
        "failures": [a for a in answers if a["error"]][:3],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("url")
    parser.add_argument("--sessions", type=int, default=8)
    parser.add_argument("--questions", type=int, default=3, help="questions per session")
    parser.add_argument("--upload", type=Path, help="a file one more session uploads meanwhile")
    parser.add_argument("--shots", type=Path, help="save a screenshot of each session here")
    args = parser.parse_args()
    print(json.dumps(asyncio.run(run(args.url, args.sessions, args.questions, args.upload, args.shots)), indent=2))


if __name__ == "__main__":
    main()
