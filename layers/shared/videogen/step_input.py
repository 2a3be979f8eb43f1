"""A step's input, read into its event model: a malformed input is :class:`InvalidStepInput`, never a
pydantic traceback (the state machine matches the name; the message lists each offending field)."""

from __future__ import annotations

from typing import Any, TypeVar

import pydantic
from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.parser.exceptions import InvalidModelTypeError

from videogen.core.errors import InvalidStepInput
from videogen.core.request import short_repr

Model = TypeVar("Model", bound=pydantic.BaseModel)


def parse_step_input(event: Any, model: type[Model]) -> Model:
    """``event`` as ``model`` (Powertools ``parse``); InvalidStepInput naming every field that is wrong."""
    if not isinstance(event, dict):
        raise InvalidStepInput(f"the {model.__name__} input must be a JSON object, not {short_repr(event)}")
    try:
        return parse(event=event, model=model)
    except pydantic.ValidationError as exc:
        problems = [_problem(error) for error in exc.errors()]
        raise InvalidStepInput(f"the {model.__name__} input is invalid: " + "; ".join(problems)) from None
    except InvalidModelTypeError:
        raise InvalidStepInput(
            f"the {model.__name__} input must be a JSON object, not {short_repr(event)}"
        ) from None


def _problem(error: Any) -> str:
    where = ".".join(str(p) for p in error.get("loc", ())) or "input"
    if error.get("type") == "missing":
        return f"{where} is required"
    message = str(error.get("msg", "invalid")).removeprefix("Value error, ")
    return f"{where}: {message.lower()}"
