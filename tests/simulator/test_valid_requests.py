"""Bodies the ``runwayml`` SDK allows are accepted, whatever the project's catalog says.

The valid bodies come from another part of the SDK than the one the simulator reads: the typed
``create()`` overloads of its resources (one per model, required keyword arguments without a default), filled
with hand-written values and sent through the SDK itself, so the SDK's own code maps names to the wire. The
"with-scalar-options" bodies add every option of a simple type, so they may break rules the types do not
state (such as proresProfile without prores): the simulator does not check those.
"""

from __future__ import annotations

import inspect
import os
import subprocess
import sys
import textwrap
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import pytest
import runwayml
from runwayml.resources.character_performance import CharacterPerformanceResource
from runwayml.resources.image_to_video import ImageToVideoResource
from runwayml.resources.text_to_video import TextToVideoResource
from runwayml.resources.video_to_video import VideoToVideoResource

from local.simulator import RunwaySimulator, SimulatorConfig
from local.simulator.sdk_params import MODELS
from tests.simulator.helpers import API_KEY, make_client

ROOT = Path(__file__).resolve().parents[2]
IMAGE = "https://example.com/frame.png"
VIDEO = "https://example.com/clip.mp4"
RESOURCES = {
    "text_to_video": TextToVideoResource,
    "image_to_video": ImageToVideoResource,
    "video_to_video": VideoToVideoResource,
    "character_performance": CharacterPerformanceResource,
}
REQUIRED = {
    "prompt_text": "a paper boat on a rainy street",
    "prompt_image": IMAGE,
    "video_uri": VIDEO,
    "prompt_video": VIDEO,
    "duration": 5,
    "character": {"type": "image", "uri": IMAGE},
    "reference": {"type": "video", "uri": VIDEO},
}
SCALARS = {str: "a paper boat", int: 5, float: 0.5, bool: True}
OPTIONAL = {"references": [{"uri": IMAGE}]}

# Wire bodies by hand: the reference's captures of the SDK on the wire, and a few more optional fields.
WIRE_EXAMPLES = [
    (
        "text_to_video",
        {
            "duration": 8,
            "model": "veo3.1",
            "promptText": "a cat",
            "ratio": "1280:720",
            "audio": False,
            "negativePrompt": "dog",
        },
    ),
    (
        "text_to_video",
        {
            "model": "klingO3_pro",
            "ratio": "1920:1080",
            "providerSettings": {"multiPrompt": [{"duration": 3, "prompt": "a"}], "shotType": "customize"},
        },
    ),
    ("text_to_video", {"model": "kling3.0_pro", "ratio": "1920:1080", "cfgScale": 1, "audio": True}),
    (
        "text_to_video",
        {
            "model": "seedance2",
            "promptText": "a",
            "duration": "auto",
            "references": [{"uri": IMAGE}],
            "seed": 4,
        },
    ),
    (
        "image_to_video",
        {
            "duration": 5,
            "model": "gen4.5",
            "promptImage": [{"uri": IMAGE, "position": "first"}],
            "promptText": "x",
            "ratio": "1280:720",
            "contentModeration": {"publicFigureThreshold": "low"},
            "outputFormat": "prores",
            "proresProfile": "422 HQ",
        },
    ),
    (
        "image_to_video",
        {"model": "hailuo3", "promptText": "x", "promptImage": [{"uri": IMAGE, "position": "first"}]},
    ),
    (
        "video_to_video",
        {
            "model": "aleph2",
            "videoUri": VIDEO,
            "keyframes": [
                {"seconds": 1.0, "uri": IMAGE, "range": {"start_seconds": 0, "end_seconds": 2}},
                {"at": 0.5, "uri": IMAGE, "range": {"start_seconds": 2, "end_seconds": 4}},
            ],
            "targetAspectRatio": "16:9",
        },
    ),
    (
        "video_to_video",
        {
            "model": "seedance2_5",
            "promptVideo": VIDEO,
            "mode": "edit",
            "promptText": "snow",
            "duration": "auto",
        },
    ),
    (
        "character_performance",
        {
            "character": {"type": "video", "uri": VIDEO},
            "model": "act_two",
            "reference": {"type": "video", "uri": VIDEO},
            "bodyControl": True,
            "expressionIntensity": 3,
        },
    ),
]


def _overloads(endpoint: str) -> list[inspect.Signature]:
    create = RESOURCES[endpoint].create
    return [
        inspect.signature(overload, eval_str=True) for overload in typing.get_overloads(create) or [create]
    ]


def _model(signature: inspect.Signature) -> str:
    return typing.get_args(signature.parameters["model"].annotation)[0]


def _sample(annotation: Any) -> Any:
    """A value of a simple annotation: the first Literal value or a hand-written scalar (None otherwise)."""
    if typing.get_origin(annotation) is Literal:
        return typing.get_args(annotation)[0]
    if typing.get_origin(annotation) in (typing.Union, type(int | str)):
        return next((v for v in map(_sample, typing.get_args(annotation)) if v is not None), None)
    return SCALARS.get(annotation)


def _kwargs(signature: inspect.Signature, *, options: bool) -> dict[str, Any]:
    kwargs = {}
    for name, param in signature.parameters.items():
        if param.kind is not param.KEYWORD_ONLY or name.startswith("extra_") or name == "timeout":
            continue
        if param.default is param.empty:
            literal = typing.get_origin(param.annotation) is Literal
            kwargs[name] = typing.get_args(param.annotation)[0] if literal else REQUIRED[name]
        elif options and (value := OPTIONAL.get(name, _sample(param.annotation))) is not None:
            kwargs[name] = value
    return kwargs


PAIRS = [(endpoint, signature) for endpoint in RESOURCES for signature in _overloads(endpoint)]
PAIR_IDS = [f"{endpoint}-{_model(signature)}" for endpoint, signature in PAIRS]


@pytest.fixture(scope="module")
def module_sim() -> Iterator[RunwaySimulator]:
    with RunwaySimulator(SimulatorConfig(api_key=API_KEY, credit_balance=10**9)) as sim:
        yield sim


@pytest.fixture(scope="module")
def module_client(module_sim: RunwaySimulator) -> Iterator[runwayml.RunwayML]:
    with make_client(module_sim) as client:
        yield client


@pytest.mark.parametrize("endpoint", RESOURCES)
def test_the_simulator_knows_the_models_of_the_sdk_overloads(endpoint: str) -> None:
    assert sorted(MODELS[endpoint]) == sorted(_model(signature) for signature in _overloads(endpoint))


@pytest.mark.parametrize("options", [False, True], ids=["required-only", "with-scalar-options"])
@pytest.mark.parametrize(("endpoint", "signature"), PAIRS, ids=PAIR_IDS)
def test_every_model_the_sdk_offers_is_accepted(
    module_sim: RunwaySimulator,
    module_client: runwayml.RunwayML,
    endpoint: str,
    signature: inspect.Signature,
    options: bool,
) -> None:
    # GIVEN the SDK's required arguments of the model, and with-scalar-options every option of a simple type
    kwargs = _kwargs(signature, options=options)
    # WHEN the SDK creates a task with them
    task = getattr(module_client, endpoint).create(**kwargs)
    # THEN the simulator accepts it as sent
    created = module_sim.created_tasks()[-1]
    assert (created.id, created.endpoint, created.model) == (task.id, endpoint, kwargs["model"])
    assert len(created.body) == len(kwargs) and task.estimated_cost.credits > 0


@pytest.mark.parametrize(
    ("endpoint", "body"), WIRE_EXAMPLES, ids=[f"{e}-{b['model']}" for e, b in WIRE_EXAMPLES]
)
def test_hand_written_wire_bodies_are_accepted(
    module_sim: RunwaySimulator, module_client: runwayml.RunwayML, endpoint: str, body: dict[str, Any]
) -> None:
    answer = module_client.post(f"/v1/{endpoint}", body=body, cast_to=object)
    assert module_sim.created_tasks()[-1].id == answer["id"]  # type: ignore[index]


def test_the_catalog_has_no_say(module_client: runwayml.RunwayML, monkeypatch: pytest.MonkeyPatch) -> None:
    from videogen import catalog

    allowed = {"model": "gen4.5", "promptText": "a boat", "ratio": "1280:720", "duration": 12}
    forbidden = {"model": "gen4.5", "promptText": "a boat", "ratio": "1:1", "duration": 5}

    def answer(body: dict[str, Any]) -> Any:
        try:
            return module_client.post("/v1/text_to_video", body=body, cast_to=object)["estimatedCost"]  # type: ignore[index]
        except runwayml.BadRequestError as err:
            return err.body

    # GIVEN a body the catalog refuses (duration 12 is outside gen4.5's 2-10) but the SDK's types allow
    assert catalog.validate_wire("text_to_video", allowed)
    # WHEN the catalog is made to refuse and price everything differently
    before = [answer(allowed), answer(forbidden)]
    monkeypatch.setattr(catalog, "validate_wire", lambda *_: ["the catalog refuses"])
    monkeypatch.setattr(catalog, "estimate_credits", lambda *_: 1.0)
    # THEN the simulator's answers do not change: accepted at its own price, and refused for the SDK's reason
    assert [answer(allowed), answer(forbidden)] == before
    assert before[0] == {"credits": 12 * 12.0}
    assert before[1]["issues"] == [{"message": "ratio must be one of 1280:720, 720:1280 (got '1:1')"}]


def test_the_simulator_never_loads_the_catalog() -> None:
    # GIVEN a fresh interpreter that could import videogen (layers/shared on the path)
    script = textwrap.dedent(
        """
        import sys, httpx
        from local.simulator import RunwaySimulator
        with RunwaySimulator() as sim:
            headers = {"Authorization": "Bearer k", "X-Runway-Version": "2024-11-06"}
            valid = {"model": "gen4.5", "promptText": "x", "ratio": "1280:720", "duration": 5}
            for body in (valid, {"model": "x"}):
                httpx.post(f"{sim.base_url}/v1/text_to_video", json=body, headers=headers)
        sys.exit(sorted(name for name in sys.modules if name.split(".")[0] == "videogen") != [])
        """
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "layers" / "shared"), str(ROOT)])}
    # WHEN the simulator serves a valid and an invalid create THEN no videogen module was imported
    assert subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, check=False).returncode == 0


def test_estimates_come_from_the_simulators_own_prices(module_client: runwayml.RunwayML) -> None:
    def credits(endpoint: str, body: dict[str, Any]) -> float:
        return module_client.post(f"/v1/{endpoint}", body=body, cast_to=object)["estimatedCost"]["credits"]  # type: ignore[index]

    gen45 = {"model": "gen4.5", "promptText": "a boat", "ratio": "1280:720", "duration": 5}
    assert credits("text_to_video", gen45) == 60  # 12 credits/s
    assert credits("text_to_video", {**gen45, "outputFormat": "prores"}) == 85  # + 5 credits/s
    assert credits("text_to_video", {**gen45, "outputFormat": "hdr10"}) == 160  # + 20 credits/s
    assert (
        credits("text_to_video", {"model": "veo3.1", "promptText": "a", "ratio": "1280:720", "duration": 8})
        == 320
    )
    assert (
        credits("text_to_video", {"model": "seedance2", "promptText": "a", "duration": "auto"}) == 50
    )  # 10/s, 5 s
