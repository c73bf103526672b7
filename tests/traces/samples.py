"""Hand-written functions traced by the tests (stdlib only: also run by other interpreters).

The tests compare exact events, which carry line numbers and source text: editing this file
means updating the expected traces in the tests.
"""

from __future__ import annotations

import asyncio
import functools
import queue
import threading


def loop(n):
    total = 0
    for i in range(n):
        total += i
    return total


def fact(n):
    if n <= 1:
        return 1
    return n * fact(n - 1)


def caught(x):
    try:
        y = 10 // x
    except ZeroDivisionError:
        y = -1
    return y


def uncaught(x):
    y = x + 1
    raise ValueError(f"bad {y}")


def calls_uncaught(x):
    try:
        uncaught(x)
    except ValueError as exc:
        return str(exc)
    return "unreachable"


def countdown(n):
    while n > 0:
        yield n
        n -= 1
    return "done"


def sum_countdown(n):
    total = 0
    for value in countdown(n):
        total += value
    return total


def make_adder(k):
    def add(x):
        return x + k

    return add


ADD_TWO = make_adder(2)


class BadRepr:
    def __repr__(self):
        raise RuntimeError("no repr")


def keeps_bad_repr():
    obj = BadRepr()
    return obj


class HugeRepr:
    def __repr__(self):
        return "H" * 100_000


def huge_values(n):
    big = list(range(n))
    text = "a" * 300
    obj = HugeRepr()
    return len(big) + len(text) + len(repr(obj))


class Point:
    def __init__(self, x, y):
        self.x = x
        self.y = y

    def __repr__(self):
        return f"Point({self.x}, {self.y})"


def odd_values():
    s = {3}
    b = b"\x00ab"
    p = Point(1, 2)
    f = frozenset()
    return (s, b, p, f)


class Inbox(queue.Queue):
    def __repr__(self):
        return "Inbox()"  # not its size: the worker thread fills it concurrently


def _work(inbox):
    for i in range(3):
        inbox.put(i * 10)


def spawn():
    inbox = Inbox()
    threading.Thread(target=_work, args=(inbox,), name="worker").start()
    total = 0
    for _ in range(3):
        total += inbox.get()
    return total


def same_values():
    a = 1
    b = [a]
    a = 1
    b.append(a)
    return b


def long_loop(n):
    total = 0
    for i in range(n):
        total += i
    return total


def logged(fn):
    @functools.wraps(fn)
    def wrapper(*args):
        return fn(*args)

    return wrapper


@logged
def decorated(x):
    return x * 2


def tiny(a, b):
    c = a + b
    return c


# Less common control flow, for comparing backends and interpreters.


# fmt: off
def one_line_loop(n):
    i = 0
    while i < n: i += 1  # noqa: E701
    return i
# fmt: on


def squares(n):
    return [i * i for i in range(n)]


def by_key(xs):
    return sorted(xs, key=lambda v: -v)


def deep(n):
    if n == 0:
        return 0
    return 1 + deep(n - 1)


def guarded():
    try:
        yield 1
    except KeyError:
        yield 2


def throws_in():
    gen = guarded()
    first = next(gen)
    second = gen.throw(KeyError("k"))
    return first + second


def stops_early():
    for value in countdown(5):
        if value < 5:
            break
    return value


def reraises(x):
    try:
        return 1 // x
    except ZeroDivisionError:
        x = -1
        raise
    finally:
        x = 0


def calls_reraises():
    try:
        reraises(0)
    except ZeroDivisionError:
        return "caught"
    return "no"


async def add_later(x):
    await asyncio.sleep(0)
    return x + 1


def run_async(x):
    return asyncio.run(add_later(x))


def delegates():
    result = yield from countdown(2)
    return result


def uses_delegate():
    return list(delegates())


class Statement:
    """Like sqlparse's Statement: repr() prints the tokens by iterating them."""

    def __init__(self, tokens):
        self.tokens = tokens

    def __repr__(self):
        return "Statement(" + "".join(self.tokens) + ")"


def lazy_statement(words):
    stmt = Statement(words)
    stmt.tokens = (w.upper() for w in stmt.tokens)
    return stmt


class SlottedStatement:
    """sqlparse's real layout: the tokens live in a slot."""

    __slots__ = ("__name", "tokens")

    def __init__(self, tokens):
        self.tokens = tokens

    def __repr__(self):
        return "SlottedStatement(" + "".join(self.tokens) + ")"


def lazy_slotted(words):
    stmt = SlottedStatement(words)
    stmt.tokens = (w.upper() for w in stmt.tokens)
    return stmt
