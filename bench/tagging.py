"""Benchmark the tagging engine: 10 campaigns against 10,000 in the same run.

Generates deterministic, realistic payment notes (English, Russian and German
filler; amounts, dates, phone numbers, emoji; about 30% naming a campaign by
tag, "#tag", "(tag)" or alias), tags them with a Tagger of 10 campaigns and
with one of 10,000 campaigns (each a numeric tag plus one or two aliases, some
of them two-word phrases), and prints both rates (notes/s) and their ratio.
Both runs share the same filler text; each run's references name campaigns of
its own set, so both do the same amount of matching. Slices of notes alternate
between the two taggers so that a busy machine slows both alike. The target is
a ratio of at least 0.8: tagging must not get slower as campaigns are added.

Usage: python bench/tagging.py [--notes N] [--seed S] [--chunk C]
"""

# Russian sample text is Cyrillic on purpose; word lists read best as strings.
# ruff: noqa: RUF001, SIM905

from __future__ import annotations

import argparse
import gc
import random
import time
from collections import Counter
from datetime import date

from tracker.tagging import Rule, Tagger, compile_rules

TARGET = 0.8
ON = date(2024, 6, 1)
REAL = [  # (tag, aliases): criminal-code articles and case names
    ("205", ["penza", "пенза", "Сеть"]),
    ("212", ["bolotnaya", "болотная"]),
    ("280", ["feminist anti-war", "фас"]),
    ("282", ["extremism case"]),
    ("318", ["kolomna"]),
    ("207", ["fakes", "фейки"]),
    ("275", ["treason case", "госизмена"]),
    ("361", ["Kansk"]),
    ("213", ["hooliganism"]),
    ("228", ["drug case", "наркотики"]),
]
FILLER = {
    "en": "thanks for the support of political prisoners love solidarity from friends keep going"
    " stay strong donation monthly gift for lawyer fees parcels letters with respect".split(),
    "ru": "спасибо за поддержку политзаключённых солидарность от друзей держитесь пожертвование"
    " на адвоката передачи письма с уважением ежемесячно свободу всем".split(),
    "de": "danke für die unterstützung der politischen gefangenen solidarität spende für anwalt"
    " pakete briefe grüße aus berlin monatlich freiheit für alle".split(),
}
SYLLABLES = {
    "latin": "ka ro mi ve ta lo su ne dri pol zan bek tor vin mar gul sen fra dov lin".split(),
    "cyrillic": "ка ро ми ве та ло су не дри пол зан бек тор вин мар гул сен фра дов лин".split(),
}


def campaigns(count: int, rng: random.Random) -> list[tuple[str, list[str]]]:
    """The 10 real campaigns, then generated ones with 5-digit tags and made-up names."""
    result = list(REAL[:count])
    used = {t for t, _a in result} | {a.casefold() for _t, aliases in result for a in aliases}
    used |= {w for words in FILLER.values() for w in words}
    tags = iter(rng.sample(range(10_000, 100_000), count))
    while len(result) < count:
        tag = str(next(tags))
        aliases: list[str] = []
        for _n in range(rng.choice((1, 2))):
            script = rng.choice(("latin", "cyrillic"))
            while True:
                base = "".join(rng.choice(SYLLABLES[script]) for _s in range(rng.randint(3, 4)))
                if base.casefold() not in used:
                    break
            # A phrase's first word is reserved too: "senfraro" of one campaign
            # inside "senfraro case" of another would be a real conflict.
            used.add(base.casefold())
            word = base
            if rng.random() < 0.2:
                word += " case" if script == "latin" else " дело"
            aliases.append(word)
        result.append((tag, aliases))
    return result


def rules_for(chosen: list[tuple[str, list[str]]]) -> list[Rule]:
    rules: list[Rule] = []
    for tag, aliases in chosen:
        rules.append(Rule(len(rules) + 1, tag, "tag", tag))
        rules.extend(Rule(len(rules) + 1, tag, "alias", a) for a in aliases)
    return rules


def amount(rng: random.Random) -> str:
    value = rng.choice((5, 10, 15, 20, 25, 30, 50, 100, 150, 250, 500, 1500, 3000))
    return rng.choice(
        (
            f"{value} EUR",
            f"{value}.00",
            f"{value:,}.00 USD",
            f"{value * 10:_}".replace("_", " ") + " руб",
            f"{value},50 €",
        )
    )


def noise(rng: random.Random) -> str:
    kind = rng.random()
    if kind < 0.3:
        return amount(rng)
    if kind < 0.5:
        return f"{rng.randint(1, 28):02d}.{rng.randint(1, 12):02d}.2024"
    if kind < 0.6:
        a, b, c, d = (
            rng.randint(900, 999),
            rng.randint(100, 999),
            rng.randint(10, 99),
            rng.randint(10, 99),
        )
        return rng.choice((f"+7 {a} {b} {c} {d}", f"+7 ({a}) {b}-{c}-{d}"))
    if kind < 0.7:
        return rng.choice(("🙏", "❤️", "✊", "!!!", "—", "#solidarity", "№"))
    return ""


Template = tuple[list[str], int, int, float, float]  # words, slot, style, which, alias


def templates(count: int, rng: random.Random) -> list[Template]:
    """Deterministic note templates; 30% have a slot for a campaign reference."""
    result: list[Template] = []
    for _i in range(count):
        words = rng.choices(FILLER[rng.choice(("en", "ru", "de"))], k=rng.randint(2, 9))
        for _n in range(rng.randint(0, 2)):
            words.insert(rng.randint(0, len(words)), noise(rng))
        slot = rng.randint(0, len(words)) if rng.random() < 0.3 else -1
        result.append((words, slot, rng.randrange(5), rng.random(), rng.random()))
    return result


def notes(shapes: list[Template], chosen: list[tuple[str, list[str]]]) -> list[str]:
    """Fill the templates' slots with references to ``chosen`` campaigns.

    Both runs tag the same filler text and the same share of references, each
    naming campaigns of its own set, so they do the same amount of matching.
    """
    result: list[str] = []
    for filler, slot, style, which, alias in shapes:
        words = filler
        if slot >= 0:
            tag, aliases = chosen[int(which * len(chosen))]
            name = aliases[int(alias * len(aliases))]
            ref = (tag, f"#{tag}", f"({tag})", name, name.upper())[style]
            words = [*filler[:slot], ref, *filler[slot:]]
        result.append(" ".join(w for w in words if w))
    return result


def run(tagger: Tagger, texts: list[str]) -> tuple[float, Counter[str]]:
    outcomes: Counter[str] = Counter()
    tag = tagger.tag
    start = time.perf_counter()
    for text in texts:
        outcomes[tag((("note", text),), provider="paypal", on=ON).outcome.value] += 1
    return time.perf_counter() - start, outcomes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notes", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=205)
    parser.add_argument("--chunk", type=int, default=50_000, help="notes per timed slice")
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    many = campaigns(10_000, rng)
    shapes = templates(args.notes, rng)
    sets = {10: many[:10], 10_000: many}
    taggers: dict[int, Tagger] = {}
    texts: dict[int, list[str]] = {}
    for count, chosen in sets.items():
        start = time.perf_counter()
        taggers[count] = compile_rules(rules_for(chosen))
        built = time.perf_counter() - start
        texts[count] = notes(shapes, chosen)
        print(
            f"{count:>6,} campaigns: {len(taggers[count].rules):,} rules compiled in {built:.2f} s"
        )
    print(f"notes: {args.notes:,}  e.g. {texts[10_000][0]!r}")
    for count in sets:  # warm the token cache alike
        run(taggers[count], texts[count][:2000])
    # Slices alternate between the two taggers, so that a busy machine slows
    # both alike and the ratio stays honest.
    seconds = dict.fromkeys(sets, 0.0)
    outcomes: dict[int, Counter[str]] = {count: Counter() for count in sets}
    gc.collect()
    gc.freeze()
    for start in range(0, args.notes, args.chunk):
        for count in sets:
            spent, seen = run(taggers[count], texts[count][start : start + args.chunk])
            seconds[count] += spent
            outcomes[count] += seen
    rates = {count: args.notes / seconds[count] for count in sets}
    for count in sets:
        print(
            f"{count:>6,} campaigns: {rates[count]:>9,.0f} notes/s"
            f"  {dict(sorted(outcomes[count].items()))}"
        )
    ratio = rates[10_000] / rates[10]
    verdict = "ok" if ratio >= TARGET else "BELOW TARGET"
    print(f"ratio 10,000/10 campaigns: {ratio:.2f} (target >= {TARGET}) {verdict}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
