#!/usr/bin/env python3
"""Independent reference implementation of chronicle-json's canonical form.

Written from the rules in src/lib.rs only (standard library, Decimal for
exact numbers). It generates tests/data/canonical_vectors.json, which the
Rust tests check against, so the Rust implementation and the documented
rules cannot drift apart silently:

    python3 tests/data/reference.py > tests/data/canonical_vectors.json
"""

import hashlib
import json
import random
from decimal import Decimal


class Num:
    """A JSON number kept as its exact text."""

    def __init__(self, text):
        self.text = text


def parse(text):
    # Duplicate keys: dict() keeps the last occurrence, as jsonb does.
    return json.loads(text, parse_float=Num, parse_int=Num, object_pairs_hook=dict)


def canonical_number(text):
    d = Decimal(text)  # exact, whatever the size of digits or exponent
    if d == 0:
        return "0"
    sign, digit_tuple, exponent = d.as_tuple()  # value = digits * 10^exponent
    digits = "".join(map(str, digit_tuple)).lstrip("0")
    stripped = digits.rstrip("0")
    exponent += len(digits) - len(stripped)
    digits = stripped
    k = len(digits)
    p = exponent + k  # value = 0.digits * 10^p
    if k <= p <= 21:
        out = digits + "0" * (p - k)
    elif 0 < p <= 21:
        out = digits[:p] + "." + digits[p:]
    elif -6 < p <= 0:
        out = "0." + "0" * (-p) + digits
    else:
        e = p - 1
        out = digits[0] + ("." + digits[1:] if k > 1 else "") + "e" + ("+" if e >= 0 else "-") + str(abs(e))
    return ("-" if sign else "") + out


def canonical_string(s):
    # json.dumps escapes exactly ", \, and U+0000..U+001F (short forms for
    # \b \f \n \r \t, lowercase \u00xx otherwise) when ensure_ascii=False.
    return json.dumps(s, ensure_ascii=False)


def canonical(value):
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, Num):
        return canonical_number(value.text)
    if isinstance(value, str):
        return canonical_string(value)
    if isinstance(value, list):
        return "[" + ",".join(canonical(v) for v in value) + "]"
    keys = sorted(value, key=lambda k: k.encode("utf-8"))
    return "{" + ",".join(canonical_string(k) + ":" + canonical(value[k]) for k in keys) + "}"


# ---- random documents, written with deliberately varied formatting ----

KEYS = ["a", "b", "A", "", "é", "e\u0301", "z", "\U0001f600", "\uff5e", "~1", "a/b", "\u00e9t\u00e9", "\x7f", "\t", "aa", "ab"]
STRINGS = ["", "plain", 'quo"te', "back\\slash", "nl\nx", "\x00\x01\x1f", "\u2028\u2029", "/", "\U0001f600", "caf\u00e9", "\x7f", "\x08\x0c\r\t"]


def random_number(rng):
    sign = rng.choice(["", "", "-"])
    int_part = rng.choice(["0", "1", "7", "10", "100", "123", "9007199254740993", "123456789012345678901234567890"])
    frac = rng.choice(["", "", ".0", ".5", ".000", ".25", ".000001", ".1000"])
    exp = rng.choice(["", "", "", "e0", "E+2", "e-3", "e21", "e-7", "e20", "e-6", "e+100", "e-100", "E5"])
    return sign + int_part + frac + exp


def random_string_literal(rng, s):
    # Escape some characters that need no escaping, to vary the input.
    out = []
    for c in s:
        r = rng.random()
        if c in '"\\' or ord(c) < 0x20:
            out.append(json.dumps(c)[1:-1] if r < 0.5 else "\\u%04X" % ord(c) if ord(c) < 0x20 else json.dumps(c)[1:-1])
        elif r < 0.2:
            if ord(c) > 0xFFFF:
                v = ord(c) - 0x10000
                out.append("\\u%04x\\u%04x" % (0xD800 + (v >> 10), 0xDC00 + (v & 0x3FF)))
            else:
                out.append("\\u%04x" % ord(c))
        elif c == "/" and r < 0.6:
            out.append("\\/")
        else:
            out.append(c)
    return '"' + "".join(out) + '"'


def ws(rng):
    return rng.choice(["", "", " ", "\n  ", "\t", "\r\n"])


def random_text(rng, depth=0):
    kind = rng.random()
    if depth > 3 or kind < 0.45:
        choice = rng.randrange(5)
        if choice == 0:
            return rng.choice(["null", "true", "false"])
        if choice in (1, 2):
            return random_number(rng)
        return random_string_literal(rng, rng.choice(STRINGS))
    if kind < 0.7:
        items = [ws(rng) + random_text(rng, depth + 1) + ws(rng) for _ in range(rng.randrange(4))]
        return "[" + ",".join(items) + "]"
    members = []
    for _ in range(rng.randrange(5)):  # repeated keys happen: last wins
        key = random_string_literal(rng, rng.choice(KEYS))
        members.append(ws(rng) + key + ws(rng) + ":" + ws(rng) + random_text(rng, depth + 1) + ws(rng))
    return "{" + ",".join(members) + "}"


def main():
    rng = random.Random(20240601)
    vectors = []
    for _ in range(300):
        text = ws(rng) + random_text(rng) + ws(rng)
        expected = canonical(parse(text))
        vectors.append({
            "input": text,
            "canonical": expected,
            "sha256": hashlib.sha256(expected.encode("utf-8")).hexdigest(),
        })
    print(json.dumps(vectors, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
