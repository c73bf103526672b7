"""Repeatable property-based tests, for every run Forager makes of a suite (stdlib only).

Hypothesis draws new examples on every run by default and replays failures it saved in the
repository's `.hypothesis/` folder. Under a mutant, a property test may then fail in one run
and pass in the next: a task proven twice was seen to lose or gain a failing test on its
recheck (idna's property tests). Before each test, its `@given` settings are replaced by the
same settings with `derandomize=True` (examples seeded from the test itself) and no example
database, so the baseline, a task's proof, its recheck and an agent's reward see one run.
"""

import sys

_MISSING = object()


def replace_settings(test, **changes):
    """Give a `@given` test (function or bound method) its own settings with `changes`.

    `@given` binds its settings when it decorates, so they are replaced on the function
    itself. Nothing happens when Hypothesis is not loaded, the test is not a `@given` test,
    or its settings hold the changes already; errors from Hypothesis are the caller's.
    """
    hypothesis = sys.modules.get("hypothesis")
    function = getattr(test, "__func__", test)
    bound = getattr(function, "_hypothesis_internal_use_settings", None)
    if hypothesis is None or bound is None:
        return
    if all(getattr(bound, name, _MISSING) == value for name, value in changes.items()):
        return
    function._hypothesis_internal_use_settings = hypothesis.settings(bound, **changes)


def derandomize(test):
    """Called with the test function (or bound method) just before it runs."""
    try:
        replace_settings(test, derandomize=True, database=None)
    except Exception as exc:  # a Hypothesis too old or too new for this: run the test as it is
        sys.stderr.write(f"forager: hypothesis left random: {type(exc).__name__}: {exc}\n")
