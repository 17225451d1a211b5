"""The learned router: a quality model and the gateway's selection rule over its predictions.

``QualityModel`` predicts each pool model's chance of doing a request well (``model.py``, fitted
by ``train.py`` from ../shared/data, weights shipped in ``triage/data/router``); ``choose``
applies the quality target with the gateway's rule (``policy.py``, ``decide.value_order``). See docs/router.md.
"""

from triage.routing.learned.model import QualityModel
from triage.routing.learned.policy import (
    Choice,
    choose,
    expected_costs,
    reference_cost,
    select,
)

NAME = "learned"

__all__ = ["NAME", "Choice", "QualityModel", "choose", "expected_costs", "reference_cost", "select"]
