"""Bad-input rows of gan_extras/reports.py (the results tables), read by tests/test_bad_inputs.py."""

from __future__ import annotations

from gan_extras import reports as rp

#: Public names that take no argument a user could get wrong.
NO_ARGUMENTS: set[str] = set()

ROWS = [
    ("table", lambda t: rp.table(["a", "b"], [["1"]]), ValueError, "rows must be a list of rows of 2 cells"),
    ("table", lambda t: rp.table([], []), TypeError, "header must be a non-empty list"),
    ("format_evaluation", lambda t: rp.format_evaluation({"n": 3}), ValueError, "result must come from"),
    ("compare_runs", lambda t: rp.compare_runs({"a": t}), FileNotFoundError, "evaluation.json"),
    ("compare_runs", lambda t: rp.compare_runs([t]), ValueError, "run_dirs must name at least one run folder"),
    ("format_comparison", lambda t: rp.format_comparison({}), ValueError, "comparison must come from"),
    ("architecture_entry", lambda t: rp.architecture_entry({}, {}, {}), ValueError, "evaluation must be a dict"),
    ("format_architectures", lambda t: rp.format_architectures({}), ValueError, "entries must be a non-empty dict"),
    ("vanilla_vs_dcgan", lambda t: rp.vanilla_vs_dcgan(t), ValueError, "holds no vanilla run"),
    ("format_conditional_evaluation", lambda t: rp.format_conditional_evaluation({"accuracy": []}), ValueError,
     "result must be cond.evaluate_conditional"),
    ("format_augmentation", lambda t: rp.format_augmentation([{"n": 1}]), ValueError, "rows must be"),
    ("format_experiments", lambda t: rp.format_experiments({}), ValueError, "histories must be a non-empty dict"),
]
