#!/usr/bin/env python3
"""Generate a deterministic benchmark corpus in bridgecast's content layout.

Usage: gen_corpus.py OUTDIR N

Writes
  OUTDIR/feeds/news/feed.toml                       (copy of feeds/news/feed.toml)
  OUTDIR/feeds/science-tech/feed.toml               (copy of feeds/science-tech/feed.toml)
  OUTDIR/feeds/news/articles/aNNNNN/<locale>.md     (N articles x 8 locales)

Each translation has TOML front matter (id, title, summary, topics, published_at,
status) and a Markdown body of about 2 KB made of real sentences taken from the demo
articles of the same locale (feeds/news/articles/*/<locale>.md), shuffled with a
fixed seed. Same N gives byte-identical output; article i is the same for every N.

published_at is spread over the two years before 2026-01-01T00:00:00+08:00 (a fixed
anchor, not "now", so the output does not depend on the day it is generated; every
article is in the past for any clock after 2026-01-01).

Python 3 standard library only.
"""

import json
import random
import re
import shutil
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

LOCALES = ["zh-Hans", "en", "de", "ja", "ms", "ne", "es", "ar"]
# Must be a subset of content::TOPICS in src/content.rs.
TOPICS = [
    "friendship-cities",
    "science-technology",
    "new-energy",
    "bio-medicine",
    "robotics",
    "education",
    "urban-management",
    "olympics-2032",
    "youth-culture",
]
SEED = 20260101
BODY_BYTES = 2000  # target size of each Markdown body, in UTF-8 bytes
TZ = timezone(timedelta(hours=8))
END = datetime(2026, 1, 1, 0, 0, 0, tzinfo=TZ)
SPAN_SECS = 2 * 365 * 24 * 3600
CJK = {"zh-Hans", "ja"}

REPO = Path(__file__).resolve().parent.parent
DEMO = REPO / "feeds"


def toml_str(s: str) -> str:
    # A JSON string literal is a valid TOML basic string (same escapes).
    return json.dumps(s, ensure_ascii=False)


def split_front(text: str):
    if not text.startswith("+++\n"):
        return "", text
    end = text.find("\n+++\n", 3)
    if end < 0:
        return "", text
    return text[4:end], text[end + 5 :]


SENT_RE = re.compile(r".+?(?:[。！？]|[.!?।؟](?=\s|$)|$)", re.S)


def sentences(paragraph: str):
    out = []
    for m in SENT_RE.finditer(paragraph):
        s = m.group(0).strip()
        if len(s) >= 8:
            out.append(s)
    return out


def load_material():
    """Per locale: sentences, headings, titles, summaries from the demo articles."""
    mat = {l: {"sent": [], "head": [], "title": [], "summary": []} for l in LOCALES}
    for f in sorted((DEMO / "news" / "articles").glob("*/*.md")):
        loc = f.stem
        if loc not in mat:
            continue
        front, body = split_front(f.read_text(encoding="utf-8"))
        for line in front.splitlines():
            m = re.match(r'^(title|summary)\s*=\s*(".*")\s*$', line)
            if m:
                mat[loc][m.group(1)].append(json.loads(m.group(2)))
        for para in re.split(r"\n\s*\n", body):
            para = " ".join(para.split("\n")).strip()
            if not para:
                continue
            if para.startswith("#"):
                mat[loc]["head"].append(para.lstrip("#").strip())
                continue
            if re.match(r"^([-*+]|\d+[.)])\s", para) or para.startswith(">"):
                continue  # lists and quotes: not prose
            mat[loc]["sent"].extend(sentences(para))
    for loc, m in mat.items():
        if not m["sent"] or not m["title"]:
            sys.exit(f"gen_corpus: no demo material for locale {loc} under {DEMO}")
        if not m["head"]:
            m["head"] = m["title"][:]
        if not m["summary"]:
            m["summary"] = m["sent"][:]
    return mat


def body_for(rng: random.Random, m, loc: str) -> str:
    """Paragraphs of 2-4 sentences, one heading, until the body reaches BODY_BYTES."""
    joiner = "" if loc in CJK else " "
    pool = m["sent"][:]
    rng.shuffle(pool)
    k = 0
    paras = []
    size = 0
    while size < BODY_BYTES:
        if len(paras) == 2:
            paras.append("## " + rng.choice(m["head"]))
            size += len(paras[-1].encode()) + 2
            continue
        sents = []
        for _ in range(rng.randint(2, 4)):
            if k >= len(pool):
                rng.shuffle(pool)
                k = 0
            sents.append(pool[k])
            k += 1
            size += len(pool[k - 1].encode()) + len(joiner)
            if size >= BODY_BYTES:
                break
        paras.append(joiner.join(sents))
        size += 2
    return "\n\n".join(paras) + "\n"


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: gen_corpus.py OUTDIR N")
    out = Path(sys.argv[1])
    n = int(sys.argv[2])
    if n < 1:
        sys.exit("gen_corpus: N must be at least 1")
    mat = load_material()
    feeds = out / "feeds"
    if feeds.exists():
        shutil.rmtree(feeds)
    for chan in ("news", "science-tech"):
        (feeds / chan).mkdir(parents=True)
        shutil.copyfile(DEMO / chan / "feed.toml", feeds / chan / "feed.toml")
    arts = feeds / "news" / "articles"
    for i in range(1, n + 1):
        rng = random.Random(SEED * 1_000_003 + i)
        slug = f"a{i:05d}"
        art_id = f"tag:bench.example.org,2026-01-01:{slug}"
        topics = sorted(rng.sample(TOPICS, rng.randint(1, 2)), key=TOPICS.index)
        when = END - timedelta(seconds=rng.randrange(60, SPAN_SECS))
        when = when.replace(microsecond=0)
        published = when.isoformat()  # e.g. 2025-03-04T05:06:07+08:00
        d = arts / slug
        d.mkdir(parents=True)
        for loc in LOCALES:
            m = mat[loc]
            title = f"{rng.choice(m['title'])} ({i})"
            summary = rng.choice(m["summary"])
            body = body_for(rng, m, loc)
            text = (
                "+++\n"
                f"id = {toml_str(art_id)}\n"
                f"title = {toml_str(title)}\n"
                f"summary = {toml_str(summary)}\n"
                f"topics = [{', '.join(toml_str(t) for t in topics)}]\n"
                f"published_at = {published}\n"
                'status = "approved"\n'
                "+++\n\n" + body
            )
            (d / f"{loc}.md").write_text(text, encoding="utf-8")
    print(f"{n} articles x {len(LOCALES)} locales = {n * len(LOCALES)} translations in {feeds}")


if __name__ == "__main__":
    main()
