"""Pipelines (销售流程): the stages an opportunity goes through, configurable by admins (pure).

A pipeline has its *open* stages, in order, each with a key, a name and a probability (0..100);
the *closing* stages are the same in every pipeline (``CLOSED_STAGES``): ``won`` 100%, ``lost``
0%, ``invalid`` 0%. The default pipeline (``DEFAULT_STAGES``, domain.md):

| order | stage | probability |
|---|---|---|
| 1 | ``qualification`` | 10 |
| 2 | ``needs_analysis`` | 30 |
| 3 | ``proposal`` | 50 |
| 4 | ``negotiation`` | 70 |
| - | ``won`` | 100 (closes: won) |
| - | ``lost`` | 0 (closes: lost, with a reason) |
| - | ``invalid`` | 0 (closes: invalid) |

Which pipeline a new opportunity takes (``choose_pipeline``): the one asked for; else the one of its
``kind``; else the one of its owner's department; else the default. One pipeline per department and
one per kind (a unique key each).
"""
from __future__ import annotations

from dataclasses import dataclass

from crm_kit.errors import ValidationFailed

DEFAULT_PIPELINE_ID = "00000000-0000-7000-8000-00000000a001"
DEFAULT_PIPELINE_NAME = "Default"
DEFAULT_STAGES = (
    {"key": "qualification", "name": "Qualification", "probability": 10},
    {"key": "needs_analysis", "name": "Needs analysis", "probability": 30},
    {"key": "proposal", "name": "Proposal", "probability": 50},
    {"key": "negotiation", "name": "Negotiation", "probability": 70},
)
# the closing stages of every pipeline: stage key -> (status it closes with, probability)
CLOSED_STAGES = {"won": ("won", 100), "lost": ("lost", 0), "invalid": ("invalid", 0)}
MAX_STAGES = 20


@dataclass(frozen=True)
class Stage:
    key: str
    name: str
    probability: int
    status: str = "open"        # open | won | lost | invalid: the status an opportunity in it has
    position: int = 0           # 1.. for open stages (their order), 0 for the closing ones


def stages_of(open_stages) -> dict[str, Stage]:
    """Every stage of a pipeline (its open stages as stored, then the closing ones), by key."""
    out = {s["key"]: Stage(s["key"], s.get("name") or s["key"], int(s["probability"]), "open", i)
           for i, s in enumerate(open_stages, start=1)}
    for key, (status, probability) in CLOSED_STAGES.items():
        out[key] = Stage(key, key.capitalize(), probability, status, 0)
    return out


def first_stage(open_stages) -> Stage:
    return next(iter(stages_of(open_stages).values()))


def validate_stages(open_stages) -> list[dict]:
    """The open stages as a pipeline stores them, or ``ValidationFailed`` naming ``stages``: at
    least one, at most ``MAX_STAGES``, keys unique and none a closing stage's, probabilities
    0..100 and never going down along the order."""
    stages = [{"key": s["key"], "name": s.get("name") or s["key"], "probability": int(s["probability"])}
              for s in open_stages]
    errors = []
    if not stages:
        errors.append("A pipeline needs at least one open stage.")
    if len(stages) > MAX_STAGES:
        errors.append(f"At most {MAX_STAGES} stages.")
    keys = [s["key"] for s in stages]
    if len(set(keys)) != len(keys):
        errors.append("Stage keys must be unique.")
    reserved = sorted(set(keys) & set(CLOSED_STAGES))
    if reserved:
        errors.append(f"{', '.join(reserved)} are closing stages of every pipeline, not open ones.")
    probabilities = [s["probability"] for s in stages]
    if any(p < 0 or p > 100 for p in probabilities):
        errors.append("Probabilities are between 0 and 100.")
    elif probabilities != sorted(probabilities):
        errors.append("Probabilities must not go down from one stage to the next.")
    if errors:
        raise ValidationFailed.from_messages({"stages": errors})
    return stages


def removed_stages(before, after) -> list[str]:
    """The open stages an edit takes away (refused while open opportunities are in them)."""
    kept = {s["key"] for s in after}
    return [s["key"] for s in before if s["key"] not in kept]


@dataclass(frozen=True)
class PipelineRef:
    id: str
    department_id: str | None
    kind: str | None
    is_default: bool
    active: bool = True


def choose_pipeline(pipelines, *, kind: str | None, department_id: str | None) -> str | None:
    """The id of the pipeline a new opportunity takes when none is asked for (see the module)."""
    active = [p for p in pipelines if p.active]
    for match in (lambda p: kind and p.kind == kind,
                  lambda p: department_id and p.department_id == department_id,
                  lambda p: p.is_default):
        found = next((p.id for p in active if match(p)), None)
        if found:
            return found
    return None
