#!/usr/bin/env python3
"""Write the sample chat datasets shipped in data/:

  data/sample-ultrachat.jsonl      ~300 rows in the HuggingFaceH4/ultrachat_200k schema (SFT)
      {"prompt", "prompt_id", "messages": [{"content", "role"}, ...]}
  data/sample-ultrafeedback.jsonl  ~300 rows in the HuggingFaceH4/ultrafeedback_binarized schema (DPO)
      {"prompt", "prompt_id", "chosen", "rejected", "messages", "score_chosen", "score_rejected"}

Usage:  python3 scripts/make_sample_datasets.py            (no arguments; rewrites both files)

The text is synthetic: conversations composed from hand-written pools (scripts/sample_pools_*.py)
with a fixed seed, so running this again writes identical files. Arithmetic results, conversions,
prime factorizations etc. are computed, so they are correct. In the preference file the chosen reply
is always the good one (correct, polite, complete, on-topic); the rejected reply is a systematically
worse variant of it: a wrong result or fact, a buggy program, a curt refusal, an off-topic answer,
a truncated answer, a repetitive answer, or a condescending one; score_chosen > score_rejected always.

Line formats vary on purpose, to exercise JSON readers: about a quarter of the lines are written
with ensure_ascii=True (\\uXXXX escapes, UTF-16 surrogate pairs for emoji; half of those also escape
'/' as '\\/', as pandas does) and some lines use a different key order. prompt_id is the SHA-256
hex digest of the UTF-8 prompt. Message contents never contain the special tokens <|...|>.
"""
import hashlib
import json
import math
import os
import random
import re
import sys
from fractions import Fraction

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sample_pools_code import CODE_TASKS, LANG_FENCE, LANG_NAMES, MISC_CODE  # noqa: E402
from sample_pools_text import (COUNTRIES, ELEMENTS, LANG_NOTES, LANGS, NATIVE, NATIVE_ARITH, PHRASES,  # noqa: E402
                               PLANETS, RECIPES, SCIENCE, SMALL_TALK, TIPS, UNICODE_QA, WORDS, WRONG_CAPITALS)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SEED = 20240611
N_SFT = 300
N_PREF = 300

OPENERS = ["Sure! ", "Certainly! ", "Of course. ", "Good question! ", "Happy to help. "]
CLOSERS = ["I hope this helps!", "Let me know if you have any other questions.",
           "Feel free to ask if anything is unclear.", "Let me know if you'd like more detail."]
THANKS_U = ["Thanks!", "Thank you!", "Great, thanks a lot.", "Thanks, that makes sense.", "Perfect, thank you!",
            "That's very helpful, thanks."]
THANKS_A = ["You're welcome! Let me know if there's anything else I can help with.",
            "You're very welcome! Feel free to ask if you have more questions.",
            "Glad I could help! Have a great day. 😊", "My pleasure! Good luck!"]
CURT = ["I don't know.", "Look it up yourself.", "Why do you need to know that?", "No idea. Try searching online.",
        "That's not something I want to answer.", "Figure it out.", "Ask someone else.", "Not sure, sorry.",
        "idk", "Can't help with that."]
NATIVE_THANKS = {
    "Chinese": ("谢谢！", "不客气！如果还有其他问题，随时问我。"),
    "Japanese": ("ありがとうございます！", "どういたしまして！他にも質問があれば、いつでも聞いてください。"),
    "Korean": ("감사합니다!", "천만에요! 궁금한 점이 있으면 언제든지 물어보세요."),
    "Russian": ("Спасибо!", "Пожалуйста! Если будут ещё вопросы, обращайтесь."),
    "Greek": ("Ευχαριστώ!", "Παρακαλώ! Αν έχεις άλλες ερωτήσεις, ρώτα με όποτε θέλεις."),
    "Arabic": ("شكرا!", "عفوا! إذا كان لديك أي سؤال آخر فلا تتردد في طرحه."),
    "Hindi": ("धन्यवाद!", "आपका स्वागत है! अगर कोई और सवाल हो तो ज़रूर पूछिए।"),
    "French": ("Merci !", "Avec plaisir ! N'hésite pas si tu as d'autres questions."),
    "German": ("Danke!", "Gern geschehen! Wenn du noch Fragen hast, melde dich einfach."),
    "Spanish": ("¡Gracias!", "¡De nada! Si tienes más preguntas, aquí estoy."),
    "Vietnamese": ("Cảm ơn bạn!", "Không có gì! Nếu bạn có câu hỏi khác, cứ hỏi nhé."),
    "Thai": ("ขอบคุณครับ", "ยินดีครับ ถ้ามีคำถามอื่นถามได้เลยนะครับ"),
}
SCIENCE_TITLES = {
    "sky": "Why the sky is blue", "seasons": "The seasons", "photosynthesis": "Photosynthesis",
    "water_cycle": "The water cycle", "vaccines": "Vaccines", "dna": "DNA", "ice": "Why ice floats",
    "boiling_altitude": "Boiling point and altitude", "rainbow": "Rainbows", "tides": "Tides", "gravity": "Gravity",
    "compass": "How a compass works", "weather_climate": "Weather and climate", "atom": "Atoms",
    "inflation": "Inflation", "heart": "The heart", "machine_learning": "Machine learning", "cpu_cache": "CPU caches",
    "http": "How the web works", "recursion": "Recursion", "big_o": "Big O notation", "greenhouse":
    "The greenhouse effect", "plate_tectonics": "Plate tectonics", "binary": "Binary numbers"}
SCIENCE_MYTHS = {
    "sky": "The sky is blue because it reflects the color of the oceans. Since most of the Earth is covered by "
           "water, the sky looks blue.",
    "seasons": "We have seasons because Earth's orbit brings it much closer to the Sun in summer and much farther "
               "away in winter.",
    "ice": "Ice floats because it is full of tiny air bubbles that make it lighter than water.",
    "photosynthesis": "Photosynthesis is how plants eat: they take in food from the soil through their roots and "
                      "turn it into leaves.",
    "tides": "Tides happen because the wind pushes ocean water onto the beach twice a day.",
    "compass": "A compass points north because there is a huge block of iron at the North Pole that attracts the "
               "needle.",
    "gravity": "Gravity is a force that only exists on Earth; in space there is no gravity at all, which is why "
               "astronauts float.",
    "vaccines": "Vaccines work by killing all the germs in your body right after the injection.",
    "boiling_altitude": "Water always boils at exactly 100 °C, no matter where you are.",
    "rainbow": "Rainbows appear when sunlight reflects off the colored minerals in clouds.",
    "greenhouse": "The greenhouse effect is caused by the hole in the ozone layer letting in more sunlight.",
    "heart": "The heart has two chambers, and it pumps the same blood to the lungs and the body at the same time.",
}
NAMES = [("Maria", "she"), ("Ahmed", "he"), ("Yuki", "she"), ("Liam", "he"), ("Olga", "she"), ("Kofi", "he"),
         ("Sofia", "she"), ("Chen", "he"), ("Priya", "she"), ("Lucas", "he"), ("Amara", "she"), ("Mateo", "he")]
ITEMS = ["apples", "stickers", "marbles", "books", "cookies", "pencils", "stamps", "cards"]
ORD = ["first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth"]
SUP = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")


# --------------------------------------------------------------------------------------------- helpers
def tabify(code):
    """Turn each leading group of 4 spaces into a tab (used for the C snippets)."""
    out = []
    for line in code.split("\n"):
        n = len(line) - len(line.lstrip(" "))
        out.append("\t" * (n // 4) + " " * (n % 4) + line[n:])
    return "\n".join(out)


def code_of(task, lang):
    code = CODE_TASKS[task][lang].strip("\n")
    return tabify(code) if lang == "c" else code


def fence(lang, code):
    return f"```{LANG_FENCE.get(lang, lang)}\n{code}\n```"


def num(x):
    """Format a Fraction/int/float without useless decimals (at most 2 decimals)."""
    if isinstance(x, float):
        x = Fraction(x).limit_denominator(10 ** 6)
    x = Fraction(x)
    if x.denominator == 1:
        return f"{x.numerator:,}" if abs(x.numerator) >= 10000 else str(x.numerator)
    s = f"{float(x):.2f}".rstrip("0").rstrip(".")
    return s


def cap(s):
    return s[0].upper() + s[1:]


def is_prime(n):
    if n < 2:
        return False
    i = 2
    while i * i <= n:
        if n % i == 0:
            return False
        i += 1
    return True


def factorize(n):
    f, p = [], 2
    while p * p <= n:
        while n % p == 0:
            f.append(p)
            n //= p
        p += 1
    if n > 1:
        f.append(n)
    return f


def fmt_factors(fs):
    parts = []
    for p in sorted(set(fs)):
        k = fs.count(p)
        parts.append(str(p) + (str(k).translate(SUP) if k > 1 else ""))
    return " × ".join(parts)


class Deck:
    """Deterministic shuffled cycling through a pool, so every hand-written item gets used."""

    def __init__(self, items, rnd):
        self.items, self.rnd, self.queue = list(items), rnd, []

    def draw(self):
        if not self.queue:
            self.queue = self.items[:]
            self.rnd.shuffle(self.queue)
        return self.queue.pop()


def ex(u, a, wrong=None, final=False):
    """One exchange: user text, good assistant text, specific wrong replies [(kind, text)]."""
    return dict(u=u, a=a, wrong=wrong or [], final=final)


def polish(r, body, opener_p=0.35, closer_p=0.3):
    s = body
    if r.random() < opener_p:
        s = r.choice(OPENERS) + s
    if r.random() < closer_p:
        s = s + "\n\n" + r.choice(CLOSERS)
    return s


def thanks(r):
    return ex(r.choice(THANKS_U), r.choice(THANKS_A), final=True)


# --------------------------------------------------------------------------------------------- arithmetic
def arith_text(op, a, b, shown):
    """Explanation of a op b whose final result is written as `shown` (the true or a wrong value)."""
    if op == "+":
        h, rest = (b // 100) * 100, b % 100
        if h and rest:
            return (f"{a} + {b} = **{shown}**.\n\nStep by step, splitting {b} into {h} + {rest}:\n\n"
                    f"1. {a} + {h} = {a + h}\n2. {a + h} + {rest} = {shown}")
        return f"{a} + {b} = **{shown}**."
    if op == "-":
        if a < b:
            return (f"Since {b} is larger than {a}, the result is negative:\n\n"
                    f"{a} - {b} = -({b} - {a}) = **{shown}**.")
        h, rest = (b // 100) * 100, b % 100
        if h and rest:
            return (f"{a} - {b} = **{shown}**.\n\nStep by step, splitting {b} into {h} + {rest}:\n\n"
                    f"1. {a} - {h} = {a - h}\n2. {a - h} - {rest} = {shown}")
        return f"{a} - {b} = **{shown}**."
    if op == "*":
        bt, bo = (b // 10) * 10, b % 10
        if bt and bo:
            return (f"{a} × {b} = **{shown}**.\n\nBreaking {b} into {bt} + {bo}:\n\n1. {a} × {bt} = {a * bt}\n"
                    f"2. {a} × {bo} = {a * bo}\n3. {a * bt} + {a * bo} = {shown}")
        return f"{a} × {b} = **{shown}**."
    q, rem = divmod(a, b)
    if isinstance(shown, tuple):
        q, rem = shown
    if rem == 0:
        return f"{a} ÷ {b} = **{q}** exactly, because {b} × {q} = {b * q}."
    return (f"{a} ÷ {b} = **{q}** with a remainder of **{rem}**.\n\nCheck: {b} × {q} = {b * q}, and "
            f"{b * q} + {rem} = {b * q + rem}.\n\nAs a decimal, {a} ÷ {b} ≈ {a / b:.2f}.")


ARITH_Q = {
    "+": ["What is {a} + {b}?", "Calculate {a} + {b}.", "What's {a} plus {b}?", "Can you add {a} and {b} for me?",
          "What is the sum of {a} and {b}?", "{a}+{b}=?"],
    "-": ["What is {a} - {b}?", "Calculate {a} minus {b}.", "What do you get if you subtract {b} from {a}?",
          "{a}-{b}=?"],
    "*": ["What is {a} × {b}?", "What is {a} * {b}?", "Multiply {a} by {b}.", "What's {a} times {b}?"],
    "/": ["What is {a} divided by {b}?", "Divide {a} by {b}.", "What is {a} / {b}?",
          "How many times does {b} go into {a}, and what is the remainder?"],
}


def gen_arith(r):
    op = r.choice("++--**/")
    if op == "+":
        a, b = r.randint(2, 999), r.randint(2, 999)
        c = a + b
    elif op == "-":
        a, b = r.randint(10, 999), r.randint(2, 999)
        c = a - b
    elif op == "*":
        a, b = r.randint(3, 199), r.randint(3, 99)
        c = a * b
    else:
        b = r.randint(2, 15)
        a = b * r.randint(2, 80) + (r.randint(0, b - 1) if r.random() < 0.7 else 0)
        c = divmod(a, b)
    u = r.choice(ARITH_Q[op]).format(a=a, b=b)
    if op == "/":
        q, rem = c
        wrong = (q + r.choice([-1, 1]), rem) if rem == 0 or r.random() < 0.5 else (q, (rem + 1) % b)
        wrong_text = arith_text(op, a, b, wrong)
    else:
        wrong_text = arith_text(op, a, b, c + r.choice([-10, -1, 1, 2, 10, 100]))
    good = polish(r, arith_text(op, a, b, c), closer_p=0.1)
    out = [ex(u, good, [("wrong", wrong_text)])]
    value = c if op != "/" else c[0]
    # follow-ups
    if op == "+":
        check = f"Sure. We can check it by subtracting: {c} - {b} = {a}, which is the first number, so {a} + {b} = {c} is correct."
    elif op == "-":
        check = f"Sure. Adding back gives {c} + {b} = {a}, which is where we started, so {a} - {b} = {c} is correct."
    elif op == "*":
        check = f"Sure. Dividing back: {c} ÷ {b} = {a}, so {a} × {b} = {c} is correct."
    else:
        q, rem = c
        check = f"Sure. Multiplying back: {b} × {q} + {rem} = {b * q} + {rem} = {a}, so the result is correct."
    fu = [ex(r.choice(["Can you double-check that?", "Are you sure? Please verify.", "How can I check that?"]),
             check)]
    k = r.randint(2, 9)
    fu.append(ex(f"Now multiply the result by {k}.", f"{value} × {k} = **{value * k}**.",
                 [("wrong", f"{value} × {k} = **{value * k + r.choice([-k, k, 1])}**.")]))
    k2 = r.randint(11, 99)
    fu.append(ex(f"And if you subtract {k2} from that?", f"{value * k} - {k2} = **{value * k - k2}**.",
                 [("wrong", f"{value * k} - {k2} = **{value * k - k2 + r.choice([-1, 1, 10])}**.")]))
    return out + fu + [thanks(r)]


def gen_word_problem(r):
    name, pron = r.choice(NAMES)
    item = r.choice(ITEMS)
    kind = r.randrange(8)
    if kind == 0:
        a, b = r.randint(10, 60), r.randint(3, 30)
        c = r.randint(2, a + b - 1)
        u = f"{name} has {a} {item}. {cap(pron)} buys {b} more and then gives {c} to a friend. How many {item} does {name} have now?"
        res = a + b - c
        steps = [f"Start with {a} {item}.", f"After buying {b} more: {a} + {b} = {a + b}.",
                 f"After giving away {c}: {a + b} - {c} = {res}."]
        ans, wrong = f"{name} has **{res} {item}**.", f"{name} has **{res + r.choice([-2, 2, c])} {item}**."
    elif kind == 1:
        a, b = r.randint(6, 48), r.randint(3, 25)
        res = a * b
        u = f"A box holds {a} {item}. How many {item} are there in {b} boxes?"
        steps = [f"Each box holds {a} {item}.", f"There are {b} boxes, so multiply: {a} × {b} = {res}."]
        ans, wrong = f"There are **{res} {item}** in total.", f"There are **{res + a} {item}** in total."
    elif kind == 2:
        a = r.randint(8, 40)
        n = r.randint(120, 600)
        days = -(-n // a)
        u = f"{name} reads {a} pages a day. How many days will it take {'him' if pron == 'he' else 'her'} to finish a {n}-page book?"
        q, rem = divmod(n, a)
        steps = [f"Divide the number of pages by the pages per day: {n} ÷ {a} = {q}" +
                 (f" with {rem} pages left over." if rem else " exactly.")]
        if rem:
            steps.append(f"Those last {rem} pages need one more day, so {q} + 1 = {days}.")
        ans, wrong = f"It will take **{days} days**.", f"It will take **{q if rem else days + 1} days**."
    elif kind == 3:
        b = r.randint(3, 9)
        a = b * r.randint(3, 12) + r.randint(0, b - 1)
        q, rem = divmod(a, b)
        u = f"{a} {item} are shared equally among {b} friends. How many does each friend get, and how many are left over?"
        steps = [f"Divide {a} by {b}: {b} × {q} = {b * q}, which is the largest multiple of {b} not above {a}.",
                 f"Left over: {a} - {b * q} = {rem}."]
        ans = f"Each friend gets **{q} {item}**, and **{rem}** {'is' if rem == 1 else 'are'} left over."
        wrong = f"Each friend gets **{q + 1} {item}**, and **{rem}** {'is' if rem == 1 else 'are'} left over."
    elif kind == 4:
        v = r.choice([40, 60, 75, 80, 90, 120, 150])
        t = r.choice([Fraction(3, 2), 2, Fraction(5, 2), 3, 4, Fraction(9, 2)])
        d = v * t
        u = f"A train travels at {v} km/h for {num(t)} hours. How far does it go?"
        steps = ["Distance = speed × time.", f"{v} km/h × {num(t)} h = {num(d)} km."]
        ans, wrong = f"The train travels **{num(d)} km**.", f"The train travels **{num(d + v // 2)} km**."
    elif kind == 5:
        p = r.choice([20, 40, 60, 80, 120, 160, 200])
        pct = r.choice([10, 20, 25, 50])
        off = Fraction(p * pct, 100)
        u = f"A jacket costs ${p} and is on sale for {pct}% off. What is the sale price?"
        steps = [f"The discount is {pct}% of ${p}: {pct}/100 × {p} = ${num(off)}.",
                 f"Subtract it from the original price: ${p} - ${num(off)} = ${num(p - off)}."]
        ans, wrong = f"The sale price is **${num(p - off)}**.", f"The sale price is **${num(p - pct)}**."
    elif kind == 6:
        ad, ch = r.randint(8, 25), r.randint(4, 15)
        k = r.randint(1, 4)
        tot = 2 * ad + k * ch
        u = f"Museum tickets cost ${ad} for adults and ${ch} for children. How much does a family of 2 adults and {k} {'child' if k == 1 else 'children'} pay?"
        steps = [f"Adults: 2 × ${ad} = ${2 * ad}.", f"Children: {k} × ${ch} = ${k * ch}.",
                 f"Total: ${2 * ad} + ${k * ch} = ${tot}."]
        ans, wrong = f"The family pays **${tot}**.", f"The family pays **${ad + k * ch}**."
    else:
        hh, mm = r.randint(7, 20), r.choice([0, 10, 15, 20, 30, 40, 45, 50])
        dur = r.choice([25, 40, 45, 50, 75, 90, 105, 130])
        end = hh * 60 + mm + dur
        u = f"A movie starts at {hh}:{mm:02d} and lasts {dur} minutes. What time does it end?"
        steps = [f"{dur} minutes is {dur // 60} hour{'s' if dur // 60 != 1 else ''} and {dur % 60} minutes."
                 if dur >= 60 else f"Add {dur} minutes to {hh}:{mm:02d}.",
                 f"{hh}:{mm:02d} + {dur} minutes = {end // 60}:{end % 60:02d}."]
        ans, wrong = f"The movie ends at **{end // 60}:{end % 60:02d}**.", f"The movie ends at **{(end - 10) // 60}:{(end - 10) % 60:02d}**."
    body = "Let's work through it step by step:\n\n" + "\n".join(f"{i + 1}. {s}" for i, s in enumerate(steps))
    good = polish(r, body + "\n\n" + ans, opener_p=0.25)
    bad = body.rsplit("\n", 1)[0] + "\n\n" + wrong if len(steps) > 1 else wrong
    return [ex(u, good, [("wrong", bad), ("wrong", wrong)]), thanks(r)]


def gen_percent_or_convert(r):
    kind = r.randrange(6)
    if kind == 0:
        p = r.choice([5, 10, 12, 15, 20, 25, 30, 40, 75])
        n = r.choice([40, 60, 80, 120, 150, 240, 360, 500, 880, 1200])
        res = Fraction(p * n, 100)
        u = r.choice(["What is {p}% of {n}?", "Calculate {p} percent of {n}.", "How much is {p}% of {n}?"]).format(p=p, n=n)
        good = (f"{p}% of {n} = {p}/100 × {n} = **{num(res)}**.\n\nA quick way to check: 10% of {n} is {num(Fraction(n, 10))}, "
                f"so {p}% is {num(Fraction(p, 10))} × {num(Fraction(n, 10))} = {num(res)}.")
        wrong = f"{p}% of {n} is **{num(res * 10)}**."
        fu = [ex(f"And what is {n} plus {p}%?", f"{n} + {num(res)} = **{num(n + res)}**.",
                 [("wrong", f"{n} + {p} = **{n + p}**.")])]
    elif kind == 1:
        c = r.choice(range(-20, 105, 5))
        f = Fraction(c * 9, 5) + 32
        u = r.choice(["Convert {c} °C to Fahrenheit.", "What is {c}°C in Fahrenheit?", "How many degrees Fahrenheit is {c} degrees Celsius?"]).format(c=c)
        good = (f"{c} °C = **{num(f)} °F**.\n\nUse the formula F = C × 9/5 + 32:\n\n1. {c} × 9/5 = {num(Fraction(c * 9, 5))}\n"
                f"2. {num(Fraction(c * 9, 5))} + 32 = {num(f)}")
        wrong = f"{c} °C = **{num(Fraction(c * 5, 9) + 32)} °F**."
        fu = [ex("And back to Celsius, how do I do that?",
                 f"Reverse the steps: subtract 32, then multiply by 5/9.\n\n({num(f)} - 32) × 5/9 = {num(f - 32)} × 5/9 = {c} °C.")]
    elif kind == 2:
        k = r.randint(-4, 22)
        f, c = 32 + 9 * k, 5 * k
        u = r.choice(["Convert {f} °F to Celsius.", "What is {f}°F in Celsius?"]).format(f=f)
        good = (f"{f} °F = **{c} °C**.\n\nUse the formula C = (F - 32) × 5/9:\n\n1. {f} - 32 = {f - 32}\n"
                f"2. {f - 32} × 5/9 = {c}")
        wrong = f"{f} °F = **{num(Fraction(f - 32) * 9 / 5)} °C**."
        fu = []
    elif kind == 3:
        m = r.choice([1, 2, 3, 5, 10, 13.1, 26.2, 50, 100])
        km = m * 1.609344
        u = r.choice(["How many kilometers is {m} miles?", "Convert {m} miles to km."]).format(m=m)
        good = f"{m} miles ≈ **{km:.2f} km**.\n\nOne mile is exactly 1.609344 km, so {m} × 1.609344 = {km:.4f}, which rounds to {km:.2f} km."
        wrong = f"{m} miles ≈ **{m / 1.609344:.2f} km**."
        fu = []
    elif kind == 4:
        h = r.randint(2, 48)
        u = r.choice(["How many seconds are in {h} hours?", "How many minutes and seconds are there in {h} hours?"]).format(h=h)
        good = (f"There are **{h * 3600:,} seconds** in {h} hours.\n\n1. One hour has 60 minutes, so {h} hours = {h} × 60 = "
                f"{h * 60:,} minutes.\n2. One minute has 60 seconds, so {h * 60:,} × 60 = {h * 3600:,} seconds.")
        wrong = f"There are **{h * 60 * 100:,} seconds** in {h} hours."
        fu = [ex("And how many days is that?", f"{h} hours ÷ 24 = **{num(Fraction(h, 24))} days**." if h % 24 else f"{h} hours ÷ 24 = **{h // 24} day{'s' if h > 24 else ''}**.")]
    else:
        kg = r.choice([1, 2, 5, 10, 25, 50, 70, 100])
        u = f"How many pounds is {kg} kg?"
        good = f"{kg} kg ≈ **{kg * 2.20462:.1f} lb**.\n\nOne kilogram is about 2.20462 pounds, so {kg} × 2.20462 ≈ {kg * 2.20462:.1f}."
        wrong = f"{kg} kg ≈ **{kg / 2.20462:.1f} lb**."
        fu = []
    return [ex(u, polish(r, good, closer_p=0.15), [("wrong", wrong)])] + fu + [thanks(r)]


def gen_number_facts(r):
    kind = r.randrange(7)
    if kind == 0:
        n = r.randint(5, 255) if r.random() < 0.7 else r.randint(256, 1000)
        steps, m = [], n
        while m:
            steps.append(f"{m} ÷ 2 = {m // 2} remainder {m % 2}")
            m //= 2
        u = r.choice(["What is {n} in binary?", "Convert {n} to binary.", "How do I write {n} in base 2?"]).format(n=n)
        good = (f"{n} in binary is **{n:b}**.\n\nDivide by 2 repeatedly and note the remainders:\n\n" +
                "\n".join(f"- {s}" for s in steps) + f"\n\nReading the remainders from bottom to top gives {n:b}.")
        wrong = f"{n} in binary is **{n ^ (1 << r.randrange(n.bit_length())):b}**."
        fu = [ex("And in hexadecimal?", f"{n} in hexadecimal is **0x{n:X}**." + (
            f" Since {n} = 16 × {n // 16} + {n % 16}, the digits are {n // 16:X} and {n % 16:X}." if 16 <= n < 256 else ""))]
    elif kind == 1:
        b = r.randint(5, 10)
        n = r.randint(2 ** (b - 1), 2 ** b - 1)
        bits = f"{n:b}"
        terms = [f"{d} × {2 ** (len(bits) - 1 - i)}" for i, d in enumerate(bits)]
        u = f"Convert the binary number {bits} to decimal."
        good = (f"{bits} in binary is **{n}** in decimal.\n\nEach digit is multiplied by a power of 2:\n\n" +
                " + ".join(terms) + f" = {n}")
        wrong = f"{bits} in binary is **{n + 2 ** r.randrange(b)}** in decimal."
        fu = []
    elif kind == 2:
        n = r.randint(2, 500)
        u = r.choice(["Is {n} a prime number?", "Is {n} prime?", "Can you tell me whether {n} is prime?"]).format(n=n)
        if is_prime(n):
            s = math.isqrt(n)
            ps = [p for p in range(2, s + 1) if is_prime(p)]
            good = f"Yes, **{n} is a prime number**." + (
                f"\n\nTo check, it is enough to test the primes up to √{n} ≈ {math.sqrt(n):.1f}: {', '.join(map(str, ps))}. "
                f"None of them divides {n} evenly." if ps else f" Its only divisors are 1 and {n}.")
            wrong = f"No, {n} is not prime: it is divisible by {r.choice([3, 7, 11])}."
        else:
            fs = factorize(n)
            good = (f"No, **{n} is not prime**. It is divisible by {fs[0]}: {n} = {fs[0]} × {n // fs[0]}.\n\n"
                    f"Its prime factorization is {n} = {fmt_factors(fs)}.") if n > 3 else f"No, {n} is not prime."
            wrong = f"Yes, {n} is a prime number, because it has no divisors other than 1 and itself."
        fu = []
    elif kind == 3:
        k = r.randint(5, 9)
        xs = r.sample(range(-20, 100), k)
        desc = r.random() < 0.3
        u = f"Sort these numbers from {'largest to smallest' if desc else 'smallest to largest'}: {', '.join(map(str, xs))}"
        ys = sorted(xs, reverse=desc)
        good = (f"Here they are from {'largest to smallest' if desc else 'smallest to largest'}:\n\n{', '.join(map(str, ys))}\n\n"
                f"The smallest number is {min(xs)} and the largest is {max(xs)}.")
        zs = ys[:]
        i = r.randrange(k - 1)
        zs[i], zs[i + 1] = zs[i + 1], zs[i]
        wrong = f"Here they are:\n\n{', '.join(map(str, zs))}"
        fu = [ex("What is their sum?", f"The sum is {' + '.join(map(str, xs)).replace('+ -', '- ')} = **{sum(xs)}**.",
                 [("wrong", f"The sum is **{sum(xs) + r.choice([-10, 10, 1])}**.")]),
              ex("And the average?", f"The average is the sum divided by the count: {sum(xs)} ÷ {k} = **{num(Fraction(sum(xs), k))}**" +
                 ("." if sum(xs) % k == 0 else " (rounded to two decimals)."))]
    elif kind == 4:
        word, letter = r.choice([("strawberry", "r"), ("banana", "a"), ("mississippi", "s"), ("bookkeeper", "e"),
                                 ("committee", "t"), ("parallel", "l"), ("occurrence", "c"), ("raspberry", "r"),
                                 ("assessment", "s"), ("balloon", "l"), ("referee", "e"), ("programming", "m"),
                                 ("pineapple", "p"), ("onomatopoeia", "o")])
        cnt = word.count(letter)
        marked = "".join(f"**{ch}**" if ch == letter else ch for ch in word).replace("****", "")
        u = r.choice(["How many times does the letter '{l}' appear in '{w}'?", "Count the letter {l} in the word \"{w}\".",
                      "How many {l}'s are in {w}?"]).format(l=letter, w=word)
        good = f"The letter '{letter}' appears **{cnt} times** in '{word}': {marked}."
        wrong = f"The letter '{letter}' appears **{cnt - 1} times** in '{word}'."
        fu = [ex("How many letters does the word have in total?", f"'{word}' has **{len(word)} letters**.")]
    elif kind == 5:
        g = r.randint(2, 15)
        x, y = r.sample(range(2, 30), 2)
        a, b = g * x, g * y
        gg = math.gcd(a, b)
        steps, p, q = [], max(a, b), min(a, b)
        while q:
            steps.append(f"{p} = {p // q} × {q} + {p % q}")
            p, q = q, p % q
        u = r.choice(["What is the greatest common divisor of {a} and {b}?", "Find the GCD of {a} and {b}."]).format(a=a, b=b)
        good = (f"The greatest common divisor of {a} and {b} is **{gg}**.\n\nUsing Euclid's algorithm:\n\n" +
                "\n".join(f"{i + 1}. {s}" for i, s in enumerate(steps)) + f"\n\nThe last non-zero remainder is {gg}.")
        wrong = f"The greatest common divisor of {a} and {b} is **{g * 2 if gg != g * 2 else g}**."
        lcm = a * b // gg
        fu = [ex("And the least common multiple?", f"The least common multiple is {a} × {b} ÷ {gg} = **{lcm}**.",
                 [("wrong", f"The least common multiple is **{a * b}**.")])]
    else:
        k = r.randint(2, 19)
        u = r.choice(["Write the multiplication table for {k}.", "Can you show me the {k} times table up to 10?"]).format(k=k)
        good = f"Here is the multiplication table for {k}:\n\n" + "\n".join(f"{k} × {i} = {k * i}" for i in range(1, 11))
        j = r.randint(3, 10)
        wrong = f"Here is the multiplication table for {k}:\n\n" + "\n".join(
            f"{k} × {i} = {k * i + (k if i == j else 0)}" for i in range(1, 11))
        fu = [ex(f"What is {k} × 12?", f"{k} × 12 = **{k * 12}**.", [("wrong", f"{k} × 12 = **{k * 12 - 2}**.")])]
    return [ex(u, polish(r, good, opener_p=0.3, closer_p=0.1), [("wrong", wrong)])] + fu + [thanks(r)]


# --------------------------------------------------------------------------------------------- knowledge
def gen_science(r, key):
    s = SCIENCE[key]
    u = r.choice(s["q"])
    wrong = [("wrong", SCIENCE_MYTHS[key])] if key in SCIENCE_MYTHS else []
    out = [ex(u, polish(r, s["a"], opener_p=0.25, closer_p=0.3), wrong)]
    fu = [ex(r.choice(["Can you summarize that in one sentence?", "Give me the short version, please.",
                       "Can you sum that up in one sentence?"]), s["short"]),
          ex(r.choice(["Can you explain it like I'm five?", "How would you explain that to a child?",
                       "Can you make it simpler?"]), s["simple"])]
    r.shuffle(fu)
    return out + fu + [thanks(r)]


def country_sentence(c, field):
    capital, where, langs, cur = COUNTRIES[c]
    C = cap(c)
    if field == "capital":
        return f"The capital of {c} is **{capital}**."
    if field == "where":
        return f"{C} lies in {where}." if where.startswith("both") else f"{C} is in {where}."
    if field == "lang":
        plural = " and " in langs or "," in langs
        return f"The main language{'s' if plural else ''} of {c} {'are' if plural else 'is'} {langs}."
    return f"The currency of {c} is the **{cur}**."


def gen_country(r, c):
    capital, where, langs, cur = COUNTRIES[c]
    others = [k for k in COUNTRIES if k != c]
    kind = r.randrange(4)
    if kind == 0:
        u = r.choice(["What is the capital of {c}?", "What's the capital city of {c}?", "Which city is the capital of {c}?"]).format(c=c)
        good = country_sentence(c, "capital") + " " + country_sentence(c, "where")
        wc = WRONG_CAPITALS.get(c) or COUNTRIES[r.choice(others)][0]
        wrong = f"The capital of {c} is **{wc}**."
        fu = [ex("And what currency do they use there?", country_sentence(c, "currency")),
              ex("What language do people speak there?", country_sentence(c, "lang"))]
    elif kind == 1:
        u = r.choice(["What currency is used in {c}?", "What money do they use in {c}?"]).format(c=c)
        good = country_sentence(c, "currency")
        wrong = f"The currency of {c} is the **{COUNTRIES[r.choice([k for k in others if COUNTRIES[k][3] != cur])][3]}**."
        fu = [ex("What is its capital?", country_sentence(c, "capital"))]
    elif kind == 2:
        u = r.choice(["What language do people speak in {c}?", "Which languages are spoken in {c}?"]).format(c=c)
        good = country_sentence(c, "lang")
        wrong = f"People in {c} mostly speak {r.choice(['Latin', 'Esperanto', 'Dutch', 'Finnish'])}."
        fu = [ex("And where is it located?", country_sentence(c, "where"))]
    else:
        u = r.choice(["Tell me three facts about {c}.", "Give me a few basic facts about {c}."]).format(c=c)
        good = (f"Here are three facts about {c}:\n\n1. Its capital is {capital}.\n2. " +
                (f"It lies in {where}." if where.startswith("both") else f"It is located in {where}.") +
                f"\n3. Its currency is the {cur}.")
        wc = WRONG_CAPITALS.get(c) or COUNTRIES[r.choice(others)][0]
        wrong = good.replace(f"Its capital is {capital}.", f"Its capital is {wc}.")
        fu = [ex("What language do they speak?", country_sentence(c, "lang"))]
    return [ex(u, polish(r, good, opener_p=0.2, closer_p=0.1), [("wrong", wrong)])] + fu + [thanks(r)]


def planet_desc(p):
    pos, kind, au, period, fact = PLANETS[p]
    return (f"{p} is the {ORD[pos - 1]} planet from the Sun and a {kind}. It orbits at an average distance of "
            f"{au} AU and takes {period} to go around the Sun once. {fact}")


def gen_planet(r, p):
    pos, kind, au, period, fact = PLANETS[p]
    names = list(PLANETS)
    k = r.randrange(3)
    if k == 0:
        u = r.choice(["Tell me about {p}.", "What do you know about the planet {p}?"]).format(p=p)
        good = planet_desc(p)
        wp = r.choice([q for q in names if q != p])
        wrong = good.replace(period, PLANETS[wp][3]).replace(ORD[pos - 1], ORD[PLANETS[wp][0] - 1])
    elif k == 1:
        u = f"How long is a year on {p}?"
        good = f"A year on {p}, meaning one full orbit around the Sun, lasts **{period}**. " + fact
        wrong = f"A year on {p} lasts **{PLANETS[r.choice([q for q in names if q != p])][3]}**."
    else:
        u = f"Which planet is {ORD[pos - 1]} from the Sun?"
        good = f"The {ORD[pos - 1]} planet from the Sun is **{p}**. " + fact
        wrong = f"The {ORD[pos - 1]} planet from the Sun is **{names[(pos) % 8]}**."
    fu = []
    d = Fraction(au) * Fraction("149.6")
    fu.append(ex("How far is that in kilometers?" if k == 0 else f"How far from the Sun is {p} in kilometers?",
                 f"One astronomical unit (AU) is about 149.6 million km, so {au} AU × 149.6 million km ≈ "
                 f"**{float(d):,.0f} million km** on average.",
                 [("wrong", f"{p} is about {float(d) * 10:,.0f} million km from the Sun.")]))
    if pos < 8:
        fu.append(ex("Which planet comes next?", "The next planet out is " + planet_desc(names[pos])))
    return [ex(u, polish(r, good, opener_p=0.2, closer_p=0.15), [("wrong", wrong)])] + fu + [thanks(r)]


def gen_element(r, e):
    sym, z, note = ELEMENTS[e]
    others = [k for k in ELEMENTS if k != e]
    k = r.randrange(3)
    if k == 0:
        u = r.choice(["What is the chemical symbol for {e}?", "What's the symbol of {e} on the periodic table?"]).format(e=e)
        good = f"The chemical symbol for {e} is **{sym}**, and its atomic number is {z}. It is {note}."
        wrong = f"The chemical symbol for {e} is **{ELEMENTS[r.choice(others)][0]}**."
    elif k == 1:
        u = f"Which element has the symbol {sym}?"
        good = f"**{sym}** is the symbol for **{e}**, element number {z}. It is {note}."
        wrong = f"{sym} is the symbol for {r.choice(others)}."
    else:
        u = f"What is the atomic number of {e}?"
        good = f"The atomic number of {e} ({sym}) is **{z}**, which means every {e} atom has {z} proton{'s' if z > 1 else ''} in its nucleus."
        wrong = f"The atomic number of {e} is **{z + r.choice([1, 2, 10])}**."
    fu = [ex("Can you give me one interesting fact about it?", f"Sure: {e} is {note}.")]
    return [ex(u, polish(r, good, opener_p=0.2, closer_p=0.1), [("wrong", wrong)])] + fu + [thanks(r)]


# --------------------------------------------------------------------------------------------- code
def gen_code_write(r, task):
    t = CODE_TASKS[task]
    lang = r.choice(["py", "py", "c", "js"])
    L = LANG_NAMES[lang]
    u = r.choice(["Write {L} code that {w}.", "Can you show me how to write {L} code that {w}?",
                  "I need a {L} snippet that {w}. Can you help?", "How would you write a {L} program that {w}?"]
                 ).format(L=L, w=r.choice(t["what"]))
    code = code_of(task, lang)
    good = polish(r, f"Here is a {L} version:\n\n{fence(lang, code)}\n\n{t['explain']}" +
                  (f"\n\n**Complexity:** {t['complexity']}" if r.random() < 0.4 else ""), opener_p=0.3, closer_p=0.25)
    wrong = []
    other = r.choice([x for x in ("py", "c", "js") if x != lang])
    wrong.append(("off_topic", f"Here is the code:\n\n{fence(other, code_of(task, other))}"))
    if t["bug"] and lang == "py":
        wrong.append(("wrong", f"Here is a {L} version:\n\n{fence('py', t['bug'][0].strip())}\n\nThis works for every input."))
    fu = []
    l2 = r.choice([x for x in ("py", "c", "js") if x != lang])
    fu.append(ex(f"Can you write the same thing in {LANG_NAMES[l2]}?",
                 f"Of course. Here is the {LANG_NAMES[l2]} version:\n\n{fence(l2, code_of(task, l2))}",
                 [("off_topic", f"Here it is:\n\n{fence(lang, code)}")]))
    fu.append(ex(r.choice(["What is the time complexity?", "How efficient is this?", "What is the Big O of this code?"]),
                 t["complexity"]))
    return [ex(u, good, wrong)] + fu + [thanks(r)]


def gen_code_explain(r, task):
    t = CODE_TASKS[task]
    lang = r.choice(["py", "c", "js"])
    code = code_of(task, lang)
    u = r.choice(["What does this {L} code do?\n\n{c}", "Can you explain this code?\n\n{c}",
                  "{c}\n\nCould you walk me through what this does?"]).format(L=LANG_NAMES[lang], c=fence(lang, code))
    good = f"This code {t['what'][0]}.\n\n{t['explain']}\n\n**Complexity:** {t['complexity']}"
    other = r.choice([k for k in CODE_TASKS if k != task])
    wrong = [("wrong", f"This code {CODE_TASKS[other]['what'][0]}.")]
    fu = [ex(f"Can you show it in {LANG_NAMES['js' if lang != 'js' else 'py']} too?",
             f"Sure:\n\n{fence('js' if lang != 'js' else 'py', code_of(task, 'js' if lang != 'js' else 'py'))}")]
    return [ex(u, polish(r, good, opener_p=0.2, closer_p=0.2), wrong)] + fu + [thanks(r)]


def gen_code_bug(r, task):
    t = CODE_TASKS[task]
    bug, problem, fix = t["bug"]
    u = r.choice(["This Python code gives wrong results. Can you find the bug?\n\n{c}",
                  "Something is wrong with my function:\n\n{c}\n\nWhat's the problem?",
                  "Why doesn't this work correctly?\n\n{c}"]).format(c=fence("py", bug.strip()))
    good = (f"I found the bug: {problem}.\n\n**Fix:** {fix}. Here is a corrected version:\n\n"
            f"{fence('py', code_of(task, 'py'))}")
    wrong = [("wrong", "The code looks correct to me. The problem must be somewhere else in your program.")]
    fu = [ex("How can I avoid bugs like this in the future?",
             "A few habits help a lot:\n\n1. **Test edge cases**: empty inputs, a single element, the smallest and "
             "largest values, and boundaries such as the last index.\n2. **Write small unit tests** with known "
             "answers, for example with `assert` statements or `pytest`.\n3. **Check loop bounds carefully**: "
             "off-by-one errors in `range()` and comparison operators (`<` versus `<=`) are among the most common "
             "bugs.")]
    return [ex(u, polish(r, good, opener_p=0.15, closer_p=0.2), wrong)] + fu + [thanks(r)]


def gen_misc_code(r, i):
    u, a = MISC_CODE[i]
    return [ex(u, polish(r, a, opener_p=0.15, closer_p=0.2)), thanks(r)]


# --------------------------------------------------------------------------------------------- lists, words
def tips_body(topic, chosen):
    return "\n".join(f"{i + 1}. **{t}.** {s}" for i, (t, s) in enumerate(chosen))


def gen_tips(r, key):
    topic, tips = TIPS[key]
    n = r.randint(3, 6)
    idx = sorted(r.sample(range(len(tips)), n))
    chosen = [tips[i] for i in idx]
    rest = [tips[i] for i in range(len(tips)) if i not in idx]
    u = r.choice(["Give me {n} tips for {t}.", "Can you list {n} tips for {t}?",
                  "I'd like some advice on {t}. What are {n} things I should keep in mind?",
                  "What are your top {n} tips for {t}?"]).format(n=n, t=topic)
    good = polish(r, f"Here are {n} tips for {topic}:\n\n{tips_body(topic, chosen)}", opener_p=0.3, closer_p=0.4)
    wrong = [("wrong", f"Here are {n} tips for {topic}:\n\n1. **{chosen[0][0]}.** {chosen[0][1]}"),
             ("repetitive", f"Here are {n} tips for {topic}:\n\n" + "\n".join(
                 f"{i + 1}. **{chosen[0][0]}.** {chosen[0][1]}" for i in range(n)))]
    fu = [ex("Which one is the most important?",
             f"If I had to pick one, it would be the first: **{chosen[0][0]}.** {chosen[0][1]} It is the foundation "
             f"that makes the other tips easier to follow.")]
    if len(rest) >= 2:
        fu.append(ex("Can you give me two more?", f"Sure! Here are two more:\n\n" + "\n".join(
            f"{i + n + 1}. **{t}.** {s}" for i, (t, s) in enumerate(rest[:2]))))
    return [ex(u, good, wrong)] + fu + [thanks(r)]


def gen_define(r, w):
    pos, d, exs, syn = WORDS[w]
    u = r.choice(["What does \"{w}\" mean?", "Define the word {w}.", "What is the meaning of {w}? Please use it in a sentence.",
                  "Can you explain the word '{w}'?"]).format(w=w)
    good = (f"**{cap(w)}** ({pos}) means *{d}*.\n\nExample: \"{exs}\"\n\nSynonyms: {', '.join(syn)}.")
    other = r.choice([k for k in WORDS if k != w])
    wrong = [("wrong", f"**{cap(w)}** means *{WORDS[other][1]}*.")]
    fu = [ex("Is it a formal word?",
             f"*{cap(w)}* is fairly formal; you will see it more often in writing than in casual speech. In everyday "
             f"conversation, people often say *{syn[0]}* instead.")]
    return [ex(u, polish(r, good, opener_p=0.15, closer_p=0.1), wrong)] + fu + [thanks(r)]


DISH = {"pancakes": "pancakes", "omelette": "an omelette", "rice": "rice on the stove", "tomato_soup": "tomato soup",
        "green_tea": "a cup of green tea"}


def recipe_text(key):
    servings, ing, steps, tip = RECIPES[key]
    return (f"**Ingredients ({servings}):**\n\n" + "\n".join(f"- {x}" for x in ing) + "\n\n**Steps:**\n\n" +
            "\n".join(f"{i + 1}. {s}" for i, s in enumerate(steps)) + f"\n\n**Tip:** {tip}")


def gen_recipe(r, key):
    u = r.choice(["How do I make {d}?", "Can you give me a simple recipe for {d}?", "What's the easiest way to make {d}?"]
                 ).format(d=DISH[key])
    good = polish(r, f"Here's a simple way to make {DISH[key]}.\n\n{recipe_text(key)}", opener_p=0.3, closer_p=0.3)
    steps = RECIPES[key][2]
    wrong = [("wrong", f"Here's how to make {DISH[key]}:\n\n" + "\n".join(f"{i + 1}. {s}" for i, s in enumerate(steps[::-1])))]
    return [ex(u, good, wrong), thanks(r)]


# --------------------------------------------------------------------------------------------- languages
def end_dot(t):
    return "" if t[-1] in ".?!;。？！।" else "."


def gen_translate(r, phrase):
    lang = r.choice(LANGS)
    t = PHRASES[phrase][lang]
    u = r.choice(["How do you say \"{p}\" in {l}?", "Translate \"{p}\" into {l}.", "What is \"{p}\" in {l}?",
                  "How would I say '{p}' in {l}?"]).format(p=phrase, l=lang)
    good = f"In {lang}, \"{phrase}\" is:\n\n**{t}**\n\n{LANG_NOTES[lang]}"
    other_l = r.choice([x for x in LANGS if x != lang])
    other_p = r.choice([x for x in PHRASES if x != phrase])
    wrong = [("wrong", f"In {lang}, \"{phrase}\" is **{PHRASES[phrase][other_l]}**" + end_dot(PHRASES[phrase][other_l])),
             ("wrong", f"In {lang}, \"{phrase}\" is **{PHRASES[other_p][lang]}**" + end_dot(PHRASES[other_p][lang]))]
    l2, l3 = r.sample([x for x in LANGS if x != lang], 2)
    fu = [ex(f"And in {l2}?", f"In {l2} it is **{PHRASES[phrase][l2]}**" + end_dot(PHRASES[phrase][l2]),
             [("wrong", f"In {l2} it is **{PHRASES[phrase][l3]}**" + end_dot(PHRASES[phrase][l3]))]),
          ex(f"What about {l3}?", f"In {l3}: **{PHRASES[phrase][l3]}**. {LANG_NOTES[l3]}")]
    return [ex(u, polish(r, good, opener_p=0.2, closer_p=0.15), wrong)] + fu + [thanks(r)]


def gen_translate_multi(r, phrase):
    langs = r.sample(LANGS, r.randint(3, 5))
    u = f"Translate \"{phrase}\" into {', '.join(langs[:-1])} and {langs[-1]}."
    good = f"Here is \"{phrase}\" in {len(langs)} languages:\n\n" + "\n".join(
        f"- **{l}:** {PHRASES[phrase][l]}" for l in langs)
    shuffled = langs[1:] + langs[:1]
    wrong = [("wrong", f"Here is \"{phrase}\" in {len(langs)} languages:\n\n" + "\n".join(
        f"- **{l}:** {PHRASES[phrase][m]}" for l, m in zip(langs, shuffled)))]
    return [ex(u, polish(r, good, opener_p=0.25, closer_p=0.2), wrong), thanks(r)]


def gen_native(r, i):
    lang, u, a, curt = NATIVE[i]
    tu, ta = NATIVE_THANKS[lang]
    return [ex(u, a, [("curt", curt)]), ex(tu, ta, final=True)]


def gen_native_arith(r, i):
    lang, q, a = NATIVE_ARITH[i]
    x, y = r.randint(2, 500), r.randint(2, 500)
    tu, ta = NATIVE_THANKS[lang]
    return [ex(q.format(a=x, b=y), a.format(a=x, b=y, c=x + y), [("wrong", a.format(a=x, b=y, c=x + y + r.choice([-1, 1, 10])))]),
            ex(tu, ta, final=True)]


def gen_unicode(r, i):
    u, a = UNICODE_QA[i]
    return [ex(u, a), thanks(r)]


def gen_small_talk(r, i):
    u, a = SMALL_TALK[i]
    return [ex(u, a)]


# --------------------------------------------------------------------------------------------- long rows
def gen_long_study_guide(r):
    keys = r.sample(sorted(SCIENCE), 3)
    titles = [SCIENCE_TITLES[k] for k in keys]
    u = (f"I have a science exam next week covering {titles[0].lower()}, {titles[1].lower()} and "
         f"{titles[2].lower()}. Can you write me a detailed study guide?")
    parts = ["# Study guide\n\nHere is a study guide covering all three topics. Each section ends with a "
             "one-sentence summary you can memorize."]
    for k, t in zip(keys, titles):
        parts.append(f"## {t}\n\n{SCIENCE[k]['a']}\n\n**In one sentence:** {SCIENCE[k]['short']}")
    parts.append("## Quick self-test\n\n" + "\n".join(f"{i + 1}. {SCIENCE[k]['q'][0]}" for i, k in enumerate(keys)) +
                 "\n\nTry to answer each question out loud without looking, then check the sections above.")
    parts.append("Good luck with your exam! 🍀")
    return [ex(u, "\n\n".join(parts)), thanks(r)]


def gen_long_code_review(r):
    tasks = r.sample(sorted(k for k in CODE_TASKS if CODE_TASKS[k]["bug"]), 2) + \
        r.sample(sorted(k for k in CODE_TASKS if not CODE_TASKS[k]["bug"]), 2)
    r.shuffle(tasks)
    buggy = set(r.sample(sorted(t for t in tasks if CODE_TASKS[t]["bug"]), r.randint(1, 2)))
    srcs = []
    for t in tasks:
        src = CODE_TASKS[t]["bug"][0].strip() if t in buggy else code_of(t, "py").split("\n\n\n")[0]
        srcs.append(src)
    module = "\n\n\n".join(srcs)
    u = f"Can you review this Python module? I think something is wrong but I can't find it.\n\n```python\n{module}\n```"
    parts = [f"Thanks for sharing the code! I went through the {len(tasks)} functions one by one."]
    for t, src in zip(tasks, srcs):
        name = re.search(r"def (\w+)", src).group(1) if "def " in src else "the FizzBuzz loop"
        if t in buggy:
            _, problem, fix = CODE_TASKS[t]["bug"]
            parts.append(f"### `{name}`\n\n⚠️ **Bug:** {problem}.\n\n**Fix:** {fix}.")
        else:
            parts.append(f"### `{name}`\n\n✅ Looks correct. {CODE_TASKS[t]['explain']}")
    fixed = "\n\n\n".join(code_of(t, "py").split("\n\n\n")[0] for t in tasks)
    parts.append(f"## Corrected module\n\n```python\n{fixed}\n```")
    parts.append("I'd also suggest adding a few unit tests with known answers, so that regressions like these are "
                 "caught automatically.")
    return [ex(u, "\n\n".join(parts))]


def gen_long_three_langs(r):
    task = r.choice(sorted(CODE_TASKS))
    t = CODE_TASKS[task]
    u = f"Show me how to write code that {t['what'][0]} in Python, C and JavaScript, and explain the differences."
    parts = [f"Here is the same task in three languages.\n\n{t['explain']}"]
    for lang in ("py", "c", "js"):
        parts.append(f"## {LANG_NAMES[lang]}\n\n{fence(lang, code_of(task, lang))}")
    parts.append("## Differences\n\n- **Python** is the most concise: no type declarations, and a lot of built-in "
                 "help from the standard library.\n- **C** needs explicit types, `#include` lines and a `main` "
                 "function, and you manage memory and integer sizes yourself; in exchange it is very fast.\n- "
                 "**JavaScript** sits in between: dynamically typed like Python, with C-like syntax (braces and "
                 "semicolons), and it runs in every browser as well as in Node.js.\n\n**Complexity:** " +
                 t["complexity"])
    return [ex(u, "\n\n".join(parts)), thanks(r)]


def gen_long_phrasebook(r):
    phrases = r.sample(list(PHRASES), 4)
    langs = r.sample(LANGS, r.randint(5, 6))
    u = f"Make me a small travel phrasebook with a few useful phrases in {', '.join(langs[:-1])} and {langs[-1]}."
    parts = [f"Here is a small phrasebook with {len(phrases)} useful phrases in {len(langs)} languages."]
    for p in phrases:
        parts.append(f"### {p}\n\n| Language | Phrase |\n|---|---|\n" + "\n".join(
            f"| {l} | {PHRASES[p][l]} |" for l in langs))
    parts.append("**Notes:**\n\n" + "\n".join(f"- {LANG_NOTES[l]}" for l in langs))
    parts.append("Have a wonderful trip! ✈️🌍")
    return [ex(u, "\n\n".join(parts))]


def gen_long_country_table(r):
    cs = r.sample(sorted(COUNTRIES), r.randint(10, 14))
    u = "Make a table of these countries with their capital, location, main languages and currency: " + ", ".join(cs) + "."
    rows = "\n".join(f"| {cap(c)} | {COUNTRIES[c][0]} | {cap(COUNTRIES[c][1])} | {COUNTRIES[c][2]} | {COUNTRIES[c][3]} |" for c in cs)
    good = f"Here is the table:\n\n| Country | Capital | Location | Main languages | Currency |\n|---|---|---|---|---|\n{rows}"
    good += "\n\nNote that several countries share the euro, and some, like Turkey and Russia, span two continents."
    return [ex(u, good)]


def gen_long_times_table(r):
    n = r.choice([10, 12])
    u = f"Write the multiplication table from 1 to {n} as a markdown table."
    head = "| × | " + " | ".join(str(j) for j in range(1, n + 1)) + " |\n|" + "---|" * (n + 1)
    rows = "\n".join(f"| **{i}** | " + " | ".join(str(i * j) for j in range(1, n + 1)) + " |" for i in range(1, n + 1))
    return [ex(u, f"Here is the multiplication table from 1 to {n}:\n\n{head}\n{rows}\n\nEach cell is the product of "
               f"its row and column, for example row 7, column 8: 7 × 8 = 56."), thanks(r)]


def gen_long_tutoring(r):
    keys = r.sample(sorted(SCIENCE), 3)
    out = [ex(SCIENCE[keys[0]]["q"][0], SCIENCE[keys[0]]["a"])]
    for k in keys[1:]:
        q = SCIENCE[k]["q"][0]
        if r.random() < 0.5 and not q.startswith(("DNA", "Big", "HTTP")):
            q = r.choice(["Interesting. Next question: ", "Got it. And ", "Great. Now, "]) + q[0].lower() + q[1:]
        else:
            q = r.choice(["Thanks! Another question: ", "Next one: "]) + q
        out.append(ex(q, SCIENCE[k]["a"]))
    return out


def gen_long_recipes(r):
    keys = r.sample(sorted(RECIPES), 3)
    u = f"I'm hosting a brunch. Can you give me recipes for {DISH[keys[0]]}, {DISH[keys[1]]} and {DISH[keys[2]]}?"
    parts = ["What a nice idea! Here are all three recipes."]
    for k in keys:
        parts.append(f"## {cap(DISH[k])}\n\n{recipe_text(k)}")
    parts.append("Enjoy your brunch! 🥞🍅☕")
    return [ex(u, "\n\n".join(parts)), thanks(r)]


def gen_long_tips(r):
    keys = r.sample(sorted(TIPS), 3)
    topics = [TIPS[k][0] for k in keys]
    u = f"I want to build better habits this year. Can you give me detailed advice on {', '.join(topics[:-1])} and {topics[-1]}?"
    parts = ["That's a great goal! Here is some practical advice for each area."]
    for k in keys:
        parts.append(f"## {cap(TIPS[k][0])}\n\n{tips_body(TIPS[k][0], TIPS[k][1])}")
    parts.append("Don't try to change everything at once: pick one or two tips per area, make them routine, and then "
                 "add more. Small, consistent steps add up. 💪")
    return [ex(u, "\n\n".join(parts)), thanks(r)]


LONG_GENS = [gen_long_study_guide, gen_long_code_review, gen_long_three_langs, gen_long_phrasebook,
             gen_long_country_table, gen_long_times_table, gen_long_tutoring, gen_long_recipes, gen_long_tips]


# --------------------------------------------------------------------------------------------- assembly
class Sources:
    def __init__(self, r):
        self.r = r
        d = lambda xs: Deck(xs, r)  # noqa: E731
        self.decks = dict(science=d(sorted(SCIENCE)), country=d(sorted(COUNTRIES)), planet=d(list(PLANETS)),
                          element=d(sorted(ELEMENTS)), code=d(sorted(CODE_TASKS)),
                          bug=d(sorted(k for k in CODE_TASKS if CODE_TASKS[k]["bug"])),
                          misc=d(range(len(MISC_CODE))), tips=d(sorted(TIPS)), words=d(sorted(WORDS)),
                          recipe=d(sorted(RECIPES)), phrase=d(list(PHRASES)), native=d(range(len(NATIVE))),
                          narith=d(range(len(NATIVE_ARITH))), uni=d(range(len(UNICODE_QA))),
                          talk=d(range(len(SMALL_TALK))), long=d(range(len(LONG_GENS))))
        D = self.decks
        self.gens = {
            "arith": lambda: gen_arith(r), "word": lambda: gen_word_problem(r), "conv": lambda: gen_percent_or_convert(r),
            "numfacts": lambda: gen_number_facts(r),
            "science": lambda: gen_science(r, D["science"].draw()), "country": lambda: gen_country(r, D["country"].draw()),
            "planet": lambda: gen_planet(r, D["planet"].draw()), "element": lambda: gen_element(r, D["element"].draw()),
            "code_write": lambda: gen_code_write(r, D["code"].draw()),
            "code_explain": lambda: gen_code_explain(r, D["code"].draw()),
            "code_bug": lambda: gen_code_bug(r, D["bug"].draw()), "misc_code": lambda: gen_misc_code(r, D["misc"].draw()),
            "tips": lambda: gen_tips(r, D["tips"].draw()), "define": lambda: gen_define(r, D["words"].draw()),
            "recipe": lambda: gen_recipe(r, D["recipe"].draw()), "translate": lambda: gen_translate(r, D["phrase"].draw()),
            "translate_multi": lambda: gen_translate_multi(r, D["phrase"].draw()),
            "native": lambda: gen_native(r, D["native"].draw()), "native_arith": lambda: gen_native_arith(r, D["narith"].draw()),
            "unicode": lambda: gen_unicode(r, D["uni"].draw()), "talk": lambda: gen_small_talk(r, D["talk"].draw()),
            "long": lambda: LONG_GENS[D["long"].draw()](r),
        }


# rows per category (sums to N_SFT / N_PREF)
SFT_PLAN = dict(arith=28, word=16, conv=14, numfacts=22, science=34, country=16, planet=8, element=8, code_write=28,
                code_explain=10, code_bug=8, misc_code=10, tips=14, define=12, recipe=5, translate=12,
                translate_multi=4, native=26, native_arith=6, unicode=12, talk=8, long=0)
PREF_PLAN = dict(arith=30, word=18, conv=14, numfacts=22, science=28, country=16, planet=8, element=8, code_write=26,
                 code_explain=10, code_bug=8, misc_code=10, tips=14, define=12, recipe=5, translate=12,
                 translate_multi=4, native=26, native_arith=6, unicode=12, talk=0, long=0)
N_LONG = 9


def conversation_sft(r, exchanges, long=False):
    """Pick how many exchanges to keep (1-4); a 'final' (thanks) exchange may only come last."""
    nonfinal = [e for e in exchanges if not e["final"]]
    finals = [e for e in exchanges if e["final"]]
    if long:
        return nonfinal[:4] if len(nonfinal) >= 2 or not finals else nonfinal[:1] + finals[:1]
    n = r.choices([1, 2, 3, 4], weights=[45, 30, 15, 10])[0]
    conv = nonfinal[:n]
    if finals and len(conv) < 4 and (len(conv) < n or r.random() < 0.1):
        conv.append(finals[0])
    return conv


def messages_of(conv, last_reply=None):
    msgs = []
    for i, e in enumerate(conv):
        msgs.append({"content": e["u"], "role": "user"})
        reply = last_reply if (last_reply is not None and i == len(conv) - 1) else e["a"]
        msgs.append({"content": reply, "role": "assistant"})
    return msgs


def first_sentence(text):
    m = re.match(r"(.+?[.!?。！？])(\s|$)", text.replace("\n", " "))
    return m.group(1) if m else text.split("\n")[0]


def truncate(r, text):
    cut = int(len(text) * r.uniform(0.3, 0.6))
    sp = text.rfind(" ", 0, cut)
    cut = sp if sp > len(text) // 5 else cut
    return text[:cut].rstrip()


def make_bad(r, e, other_answers, lang_curt=None):
    """A worse reply for exchange e: returns (kind, text)."""
    good = e["a"]
    kinds = []
    if e["wrong"]:
        kinds += ["specific"] * 8
    if len(good) > 150:
        kinds += ["truncated"] * 3
    kinds += ["repetitive"] * 2 + ["curt"] * 1 + ["off_topic"] * 2 + ["rude"]
    kind = r.choice(kinds)
    if kind == "specific":
        return r.choice(e["wrong"])
    if kind == "truncated":
        return "truncated", truncate(r, good)
    if kind == "repetitive":
        s = first_sentence(good)
        return "repetitive", (" " if r.random() < 0.5 else "\n").join([s] * r.randint(4, 8))
    if kind == "curt":
        return "curt", lang_curt or r.choice(CURT)
    if kind == "off_topic":   # an answer to some other question that shares no longer word with this one
        words = set(re.findall(r"\w{5,}", (e["u"] + " " + good).lower()))
        cand = [a for a in other_answers if a != good and not words & set(re.findall(r"\w{5,}", a.lower()))]
        return "off_topic", r.choice(cand)
    return "rude", r.choice(["That's a really basic question. ", "Seriously? Everyone knows this. ",
                             "Ugh, fine. ", "You should really know this already. "]) + first_sentence(good)


SCORE_BAD = {"wrong": (1.5, 4.0), "curt": (1.0, 2.5), "off_topic": (1.0, 2.0), "truncated": (3.0, 5.0),
             "repetitive": (1.0, 3.0), "rude": (3.0, 5.0)}


def half_steps(r, lo, hi):
    return r.choice([lo + 0.5 * i for i in range(int((hi - lo) * 2) + 1)])


def build(rnd):
    r = random.Random(rnd.random())
    src = Sources(r)
    # ---- SFT
    sft, seen = [], set()

    def add_sft(exchanges, long=False):
        conv = conversation_sft(r, exchanges, long)
        if conv[0]["u"] in seen:
            return False
        seen.add(conv[0]["u"])
        sft.append(messages_of(conv))
        return True

    plan = [k for k, n in SFT_PLAN.items() for _ in range(n)]
    for cat in plan:
        for _ in range(20):
            if add_sft(src.gens[cat]()):
                break
    for i in range(N_LONG):
        for _ in range(20):
            if add_sft(LONG_GENS[i](r), long=True):
                break
    while len(sft) < N_SFT:
        add_sft(src.gens[r.choice(["arith", "numfacts", "science", "code_write", "translate"])]())
    r.shuffle(sft)
    other_answers = [m["content"] for msgs in sft for m in msgs if m["role"] == "assistant" and len(m["content"]) > 80]

    # ---- preference
    pref, seen = [], set()

    def add_pref(exchanges, long=False, lang_curt=None):
        nonfinal = [e for e in exchanges if not e["final"]]
        if long:
            conv = nonfinal[:3]
        else:
            n = min(len(nonfinal), r.choices([1, 2, 3], weights=[85, 11, 4])[0])
            conv = nonfinal[:n]
        if conv[0]["u"] in seen:
            return False
        seen.add(conv[0]["u"])
        kind, bad = make_bad(r, conv[-1], other_answers, lang_curt)
        if long and kind not in ("truncated", "repetitive"):
            kind, bad = "truncated", truncate(r, conv[-1]["a"])
        assert bad != conv[-1]["a"]
        chosen, rejected = messages_of(conv), messages_of(conv, bad)
        sc = half_steps(r, 7.0, 10.0) if kind != "truncated" else half_steps(r, 7.5, 10.0)
        sr = half_steps(r, *SCORE_BAD[kind])
        pref.append(dict(chosen=chosen, rejected=rejected, score_chosen=float(sc), score_rejected=float(sr), kind=kind))
        return True

    plan = [k for k, n in PREF_PLAN.items() for _ in range(n)]
    for cat in plan:
        for _ in range(20):
            exs = src.gens[cat]()
            if add_pref(exs):
                break
    for i in range(N_LONG):
        for _ in range(20):
            if add_pref(LONG_GENS[i](r), long=True):
                break
    while len(pref) < N_PREF:
        add_pref(src.gens[r.choice(["arith", "numfacts", "science", "code_write", "country"])]())
    r.shuffle(pref)
    return sft[:N_SFT], pref[:N_PREF]


# --------------------------------------------------------------------------------------------- writing
def sha(s):
    return hashlib.sha256(s.encode("utf-8")).hexdigest()


def dump_line(fr, obj, order):
    """Serialize one row; fr picks the formatting variant (ascii escapes, '/' escapes, key order)."""
    text = json.dumps(obj, ensure_ascii=False)
    p = 0.6 if any(ord(ch) > 0xFFFF for ch in text) else 0.45 if not text.isascii() else 0.1
    ascii_ = fr.random() < p
    slash = ascii_ and fr.random() < 0.5
    shuffle = fr.random() < 0.15
    if shuffle:
        keys = list(order)
        fr.shuffle(keys)

        def msg_swap(v):
            return [{"role": m["role"], "content": m["content"]} for m in v] if isinstance(v, list) else v
        obj = {k: msg_swap(obj[k]) for k in keys}
    else:
        obj = {k: obj[k] for k in order}
    line = json.dumps(obj, ensure_ascii=ascii_)
    if slash:
        line = line.replace("/", "\\/")
    return line


def main():
    rnd = random.Random(SEED)
    sft, pref = build(rnd)
    fr = random.Random(SEED + 1)
    out = os.path.join(ROOT, "data")
    with open(os.path.join(out, "sample-ultrachat.jsonl"), "w", encoding="utf-8", newline="\n") as f:
        for msgs in sft:
            p = msgs[0]["content"]
            f.write(dump_line(fr, {"prompt": p, "prompt_id": sha(p), "messages": msgs},
                              ["prompt", "prompt_id", "messages"]) + "\n")
    kinds = {}
    with open(os.path.join(out, "sample-ultrafeedback.jsonl"), "w", encoding="utf-8", newline="\n") as f:
        for row in pref:
            p = row["chosen"][0]["content"]
            kinds[row["kind"]] = kinds.get(row["kind"], 0) + 1
            obj = {"prompt": p, "prompt_id": sha(p), "chosen": row["chosen"], "rejected": row["rejected"],
                   "messages": row["chosen"], "score_chosen": row["score_chosen"],
                   "score_rejected": row["score_rejected"]}
            f.write(dump_line(fr, obj, ["prompt", "prompt_id", "chosen", "rejected", "messages", "score_chosen",
                                        "score_rejected"]) + "\n")
    print(f"wrote {len(sft)} SFT rows, {len(pref)} preference rows; rejected kinds: "
          + ", ".join(f"{k}={v}" for k, v in sorted(kinds.items())))


if __name__ == "__main__":
    main()
