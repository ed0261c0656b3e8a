"""Help center search at 100,000 published articles, and the widget's size.

- Search: 100,000 articles (English, Spanish, German; generated text from a shop's vocabulary)
  in Postgres, indexed as agents' articles are (stored weighted tsvector, one partial GIN index
  per language). `helpcenter.services.search` (ranked, highlighted, top 5) is timed in-process
  for queries with rare and common words, prefixes as typed, and hostile input; the reference,
  in the same run and database, is the naive way: `icontains` on title and text for each word,
  most viewed first (what django-helpdesk does for its knowledge base).
- Widget: what a visitor downloads, gzipped (level 9), per language: static/widget.js (English
  built in), plus for Spanish and German the one strings response it fetches
  (`GET /api/v1/widget/strings?lang=..`, as the API serialises it).
"""

from __future__ import annotations

import gzip
import json
from typing import Any

from bench.common import ROOT, manage, percentiles, row, services

ARTICLES = 100_000
ROUNDS = 15

SEED = """
import random, uuid
from django.contrib.postgres.search import SearchVector
from django.db import connection
from helpcenter.models import Article, Category, LANGUAGES
rng = random.Random(7)
vocab = {
    "en": "order parcel delivery shipping return refund exchange size shoe boot leather lace "
          "invoice payment card voucher gift address courier tracking warehouse colour stitch "
          "sole heel insole waterproof care cleaning warranty repair discount coupon account "
          "password newsletter store pickup express overnight customs duty international".split(),
    "es": "pedido paquete entrega envío devolución reembolso cambio talla zapato bota cuero "
          "cordón factura pago tarjeta cupón regalo dirección mensajero seguimiento almacén "
          "color suela tacón plantilla impermeable cuidado limpieza garantía reparación".split(),
    "de": "Bestellung Paket Lieferung Versand Rücksendung Erstattung Umtausch Größe Schuh "
          "Stiefel Leder Schnürsenkel Rechnung Zahlung Karte Gutschein Geschenk Adresse "
          "Kurier Sendungsverfolgung Lager Farbe Sohle Absatz Garantie Reparatur".split(),
}
cats = [Category.objects.get_or_create(slug=f"bench-{n}", defaults={"names": {"en": f"Bench {n}"}})[0] for n in range(20)]
langs = ["en"] * 6 + ["es"] * 3 + ["de"]
rows = []
for i in range(__COUNT__):
    lang = langs[i % len(langs)]
    words = vocab[lang]
    title = " ".join(rng.choice(words) for _ in range(rng.randint(3, 7))).capitalize()
    text = " ".join(rng.choice(words) for _ in range(rng.randint(60, 200)))
    if i % 5000 == 0:
        text += " zephyrium"  # a rare word: 20 articles
    rows.append(Article(family=uuid.uuid4(), lang=lang, category=cats[i % 20], title=title,
        slug=f"a-{i}", body=text, body_html=f"<p>{text}</p>", body_text=text,
        status="published", view_count=rng.randint(0, 5000)))
    if len(rows) == 5000:
        Article.objects.bulk_create(rows); rows = []
Article.objects.bulk_create(rows)
for lang, config in LANGUAGES.items():
    Article.objects.filter(lang=lang).update(
        search_vector=SearchVector("title", weight="A", config=config)
        + SearchVector("body_text", weight="B", config=config))
with connection.cursor() as c:
    c.execute("VACUUM ANALYZE helpcenter_article")
print(Article.objects.count())
"""

MEASURE = """
import json, time
from django.db.models import Q
from helpcenter import services
from helpcenter.models import Article
queries = __QUERIES__
def naive(q, lang):
    cond = Q()
    for w in q.split()[:12]:
        cond |= Q(title__icontains=w) | Q(body_text__icontains=w)
    return list(Article.objects.filter(status="published", lang=lang).filter(cond)
                .order_by("-view_count")[:5].values_list("id", "title", "body_text"))
out = {}
for name, (q, lang) in queries.items():
    services.search(q, lang=lang, record_miss=False)  # warm
    naive(q, lang)
    fts, ref, found = [], [], 0
    for _ in range(__ROUNDS__):
        t = time.perf_counter(); hits = services.search(q, lang=lang, record_miss=False)
        fts.append((time.perf_counter() - t) * 1000); found = len(hits)
        t = time.perf_counter(); naive(q, lang); ref.append((time.perf_counter() - t) * 1000)
    out[name] = {"fts": fts, "ref": ref, "found": found}
print(json.dumps(out))
"""

# The strings response per language, as the API sends it (django-ninja's JSON encoder).
STRINGS = """
import json
from ninja.responses import NinjaJSONEncoder
from livechat.widget_strings import strings
print(json.dumps({l: json.dumps({"lang": l, "strings": strings(l)}, cls=NinjaJSONEncoder)
                  for l in ("en", "es", "de")}))
"""

QUERIES = {
    "rare word (en)": ("zephyrium", "en"),
    "common word (en)": ("refund", "en"),
    "question as typed (en)": ("how do i return my leather boots", "en"),
    "prefix as typed (en)": ("wareh", "en"),
    "common word (es)": ("devolución", "es"),
    "common word (de)": ("Rücksendung", "de"),
    "operators and quotes": ('"refund" & !(order) | <-> :*', "en"),
    "5,000 characters": ("return " * 714 + "x", "en"),
}


def run(quick: bool) -> list[dict[str, Any]]:
    count = 20_000 if quick else ARTICLES
    rows: list[dict[str, Any]] = []
    raw = (ROOT / "static" / "widget.js").read_bytes()
    script = len(gzip.compress(raw, compresslevel=9))
    with services() as env:
        served = json.loads(manage(env, "shell", "-c", STRINGS).strip().splitlines()[-1])
        for lang in ("en", "es", "de"):
            extra = (
                0 if lang == "en" else len(gzip.compress(served[lang].encode(), compresslevel=9))
            )
            rows.append(
                row(
                    f"widget gzipped ({lang})",
                    unit="KiB",
                    value=round((script + extra) / 1024, 2),
                    target="< 15 KB",
                    met=script + extra < 15_000,
                    widget_js_bytes=script,
                    strings_bytes=extra,
                )
            )
        manage(env, "shell", "-c", SEED.replace("__COUNT__", str(count)), timeout=1800)
        data = json.loads(
            manage(
                env,
                "shell",
                "-c",
                MEASURE.replace("__QUERIES__", repr(QUERIES)).replace("__ROUNDS__", str(ROUNDS)),
            )
            .strip()
            .splitlines()[-1]
        )
    for name, result in data.items():
        fts, ref = percentiles(result["fts"]), percentiles(result["ref"])
        rows.append(
            row(
                f"help search at {count:,}: {name}",
                fts,
                value=fts["p95"],
                reference=ref["p95"],
                found=result["found"],
                target="p95 < 50 ms",
                met=fts["p95"] < 50,
            )
        )
    return rows
