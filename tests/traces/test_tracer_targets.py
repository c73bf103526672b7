"""Choosing targets by code (`select`), caps over many installs, retiring, and the fast path for
code that never needs events."""

from __future__ import annotations

import gc
import json
import subprocess
import sys
import warnings
from pathlib import Path
from types import CodeType

import pytest

from forager.traces.runtime.forager_tracer import TraceConfig, Tracer, trace_call
from tests.traces import samples
from tests.traces.helpers import ROOTS

RUNTIME = Path(__file__).resolve().parents[2] / "forager" / "traces" / "runtime"
LOOP = "tests.traces.samples.loop"


def _only_loop(code: CodeType, module: str) -> str | None:
    return f"custom:{module}.{code.co_name}" if code.co_name == "loop" else None


def test_select_names_the_targets() -> None:
    with Tracer([], ROOTS, select=_only_loop) as tracer:
        assert samples.loop(2) == 1
        assert samples.fact(3) == 6
    assert [t.target for t in tracer.traces] == [f"custom:{LOOP}"]
    assert tracer.traces[0].status == "complete"


def test_caps_count_over_installs_and_later_calls_cost_one_lookup() -> None:
    tracer = Tracer([samples.loop], ROOTS, TraceConfig(max_traces_per_target=2))
    for _ in range(4):
        with tracer:
            assert samples.loop(3) == 3
    assert len(tracer.traces) == 2
    assert tracer.done(LOOP) and tracer.started == {LOOP: 2}
    # After its cap the target's code is skipped outright: only the first refusal is counted.
    assert tracer.skipped == {LOOP: 1}
    assert samples.loop.__code__ in tracer.never.values()


def test_with_step_in_capped_code_is_still_watched() -> None:
    # A capped target may still be recorded as the callee of another target's trace.
    config = TraceConfig(max_traces_per_target=1, step_in=True)
    with Tracer([samples.fact], ROOTS, config) as tracer:
        assert samples.fact(3) == 6
        assert samples.fact(2) == 2
    assert [t.events[0]["locals"] for t in tracer.traces] == [{"n": "3"}]
    assert [e["depth"] for e in tracer.traces[0].events if e["kind"] == "call"] == [0, 1, 2]
    assert samples.fact.__code__ not in tracer.never.values()
    assert tracer.skipped == {"tests.traces.samples.fact": 4}  # fact(2), fact(1), twice


def test_retired_targets_start_no_traces() -> None:
    tracer = Tracer([samples.loop, samples.fact], ROOTS)
    with tracer:
        samples.loop(1)
        tracer.retire(LOOP)
        samples.loop(1)
        samples.fact(1)
    assert [t.target for t in tracer.traces] == [LOOP, "tests.traces.samples.fact"]
    assert tracer.done(LOOP) and not tracer.done("tests.traces.samples.fact")


def test_foreign_code_is_skipped_outright() -> None:
    with Tracer([samples.loop], ROOTS) as tracer:
        json.dumps({"a": [1, 2]})  # stdlib code runs: never under the roots
        samples.loop(1)
    assert json.dumps.__code__ in tracer.never.values()
    assert samples.loop.__code__ not in tracer.never.values()


SCRIPT = """
import sys
sys.path.insert(0, {runtime!r})
import forager_tracer as ft

def f(x):
    return x + 1

roots = [{here!r}]
first = ft.Tracer([f], roots, ft.TraceConfig(max_traces_per_target=1))
with first:
    f(1); f(2)  # the second start is disabled (sys.monitoring keeps it disabled)
second = ft.Tracer([f], roots)
with second:
    f(3)
with first:
    f(4)  # first is done with f
print(len(first.traces), len(second.traces), second.traces[0].events[0]["locals"])
"""


def test_a_new_tracer_sees_code_an_earlier_one_disabled(tmp_path: Path) -> None:
    """sys.monitoring keeps DISABLE across tool ids: a new Tracer must re-arm the events. Runs
    under every Python 3.12+ found here (the host's settrace backend has no such state)."""
    script = tmp_path / "script.py"
    script.write_text(SCRIPT.format(runtime=str(RUNTIME), here=str(tmp_path)))
    found = [Path(sys.executable), *sorted(Path.home().glob(".pyenv/versions/3.1[2-9]*/bin/python3"))]
    for exe in found:
        done = subprocess.run([str(exe), str(script)], capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        assert done.stdout.split() == ["1", "1", "{'x':", "'3'}"], (exe, done.stdout)


class _LazyLength:
    """Like jinja2's AsyncLoopContext: its repr reads an async property, leaving a coroutine
    that is never awaited."""

    async def _length(self) -> int:
        return 3

    def __repr__(self) -> str:
        return f"<Lazy {self._length()}>"


def _uses_lazy() -> int:
    value = _LazyLength()
    return 1 if value else 0


def test_garbage_left_by_a_repr_is_not_reported_to_the_program(monkeypatch: pytest.MonkeyPatch) -> None:
    reported: list[object] = []
    monkeypatch.setattr(sys, "unraisablehook", reported.append)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # as under pytest's `-W error`
        result, trace = trace_call(_uses_lazy, roots=ROOTS)
        gc.collect()
    assert result == 1 and reported == []
    assert sys.unraisablehook == reported.append  # the program's hook is back
    shown = [e["locals"]["value"] for e in trace.events if e["kind"] == "line" and "value" in e["locals"]]
    assert shown[0].startswith("<Lazy <coroutine object _LazyLength._length at ")


def test_code_compiled_under_a_made_up_file_name_is_not_traced(monkeypatch: pytest.MonkeyPatch) -> None:
    # attrs' tests compile methods under names like "__init__": relative to the working
    # directory they would seem to lie under the roots, but there is no such file.
    monkeypatch.chdir(ROOTS[0])
    namespace: dict[str, object] = {}
    exec(compile("def made_up(x):\n    return x\n", "__init__", "exec"), namespace)
    made_up = namespace["made_up"]
    with Tracer([made_up, samples.loop], ROOTS) as tracer:
        assert made_up(1) == 1  # type: ignore[operator]
        samples.loop(1)
    assert [t.target for t in tracer.traces] == [LOOP]


class _LazyProxy:
    """Like wrapt's LazyObjectProxy: the wrapped object is made on first use, repr included."""

    def __init__(self, factory: object) -> None:
        self._factory = factory
        self._made: object = None

    @property
    def __wrapped__(self) -> object:
        if self._made is None:
            self._made = self._factory()  # type: ignore[operator]
        return self._made

    def __repr__(self) -> str:
        return repr(self.__wrapped__)


def _holds_proxy(proxy: _LazyProxy) -> int:
    items = [proxy]
    return len(items)


def test_proxies_are_not_asked_for_their_repr() -> None:
    made: list[int] = []
    proxy = _LazyProxy(lambda: made.append(1) or "made")
    result, trace = trace_call(_holds_proxy, proxy, roots=ROOTS)
    assert result == 1 and made == []  # tracing did not make the lazy object
    shown = trace.events[0]["locals"]["proxy"]
    assert shown == f"<{__name__}._LazyProxy object at {id(proxy):#x}>"
    assert trace.events[-2]["locals"]["items"] == f"[{shown}]"


def _recurse(n: int) -> int:
    return 0 if n == 0 else 1 + _recurse(n - 1)


def test_deep_recursion_below_a_traced_call_costs_linear_work() -> None:
    # glom's tests recurse to the recursion limit on purpose: with the outermost call traced,
    # looking for a traced ancestor must not walk the whole stack at every level.
    tracer = Tracer([_recurse], ROOTS, TraceConfig(max_traces_per_target=1))
    checks = 0
    code_filter = tracer._filter

    def counting(code: CodeType) -> bool:
        nonlocal checks
        checks += 1
        return code_filter(code)

    tracer._filter = counting  # type: ignore[assignment]
    with tracer:
        assert _recurse(300) == 300
    assert len(tracer.traces) == 1 and tracer.traces[0].status == "complete"
    assert checks < 3 * 300
