"""The rule table (gdfast/optim/_registry.py) agrees with the C kernels as gdfast._kernels lists them
(csrc/rules.def, csrc/variants.def): the same rules, each keeping the number of state slots its kernel keeps,
and every kernel the form of some rule. A test rather than asserts at import, which ``python -O`` strips."""
import pytest

from gdfast import _kernels
from gdfast.optim._registry import CONVENTIONS, RULES

FORMS = [(rule, convention) for rule in RULES.values() for convention in CONVENTIONS]


def test_the_rules_are_those_of_rules_def():
    assert sorted(RULES) == sorted(_kernels.RULE_NAMES)


@pytest.mark.parametrize("rule", RULES.values(), ids=list(RULES))
def test_a_rule_has_as_many_slots_as_its_kernel_keeps(rule):
    assert len(rule.slots) == _kernels.RULE_SLOTS[rule.id]


@pytest.mark.parametrize("rule, convention", FORMS, ids=[f"{r.name}-{c}" for r, c in FORMS])
def test_a_form_runs_a_kernel_of_c_with_its_rules_slots(rule, convention):
    form = rule.forms[convention]
    assert form.kernel in _kernels.KERNEL_NAMES
    assert _kernels.KERNEL_SLOTS[form.kernel_id] == len(rule.slots)


def test_every_kernel_of_c_is_a_form_of_some_rule():
    assert {form.kernel for rule in RULES.values() for form in rule.forms.values()} == set(_kernels.KERNEL_NAMES)
