"""Runway API simulator: a real HTTP server on loopback that speaks Runway's wire format (API 2024-11-06).

Point the real ``runwayml`` SDK at it by changing only the base URL::

    from local.simulator import RunwaySimulator, SimulatorConfig

    with RunwaySimulator(SimulatorConfig(time_scale=0.01, seed=1)) as sim:   # free port on 127.0.0.1
        client = runwayml.RunwayML(api_key="any", base_url=sim.base_url)    # or RUNWAYML_BASE_URL
        task = client.text_to_video.create(model="gen4.5", prompt_text="x", ratio="1280:720", duration=5)
        ...
        assert len(sim.created_tasks()) == 1

    python -m local.simulator --port 8787 [--time-scale 0.1] [--seed 0] [--api-key K] [--credits N]

What it serves
    ``POST /v1/{text_to_video,image_to_video,video_to_video,character_performance}``
    -> ``{id, estimatedCost}``;
    ``GET|DELETE /v1/tasks/{id}``; ``POST /v1/uploads`` and the multipart upload target it hands out
    (``/_uploads/{id}``, no auth; its ``runway://uploads/{id}`` URI is then accepted as a media input, unknown
    ones are refused); ``GET /v1/organization``; signed output URLs
    ``/_outputs/{task}/{n}.{mp4|mov|zip}?Expires=&Signature=&Key-Pair-Id=`` (403 once expired or tampered).

Checks like Runway's
    ``Authorization: Bearer`` (``config.api_key`` and the process's ``RUNWAYML_API_SECRET`` when set, any
    non-empty key otherwise; 401), ``X-Runway-Version: 2024-11-06`` (400), the credit balance (400 "You do
    not have enough credits ...") and the create body (400 ``{"error": "a; b", "issues": [{"message": "a"},
    ...]}``, each message naming the wire field): against the installed ``runwayml`` SDK's own typed
    parameters (``sdk_params``: the model, required and unknown fields, value types and Literal values, at
    every depth; no ranges, lengths or cross-field rules, which the types do not state), and every URI in it
    must be https://, a known ``runway://`` upload or a data: URI of at most 5 MB. The project's catalog
    (``videogen``) is never consulted: a stand-in must not share the rules it tests.

Tasks
    PENDING -> (THROTTLED while a ``throttle`` fault holds it) -> RUNNING
    (``progress`` 0..0.99) -> SUCCEEDED (``output``, ``cost``) or FAILED (``failure``, ``failureCode``,
    cost 0). DELETE cancels a live task (CANCELLED; refunded unless it was RUNNING) or deletes a finished one
    (404 afterwards). Timings come from ``config.profiles`` (log-normal, seeded) times ``config.time_scale``,
    computed from ``config.clock`` on each request (``ManualClock`` steps time by hand). Credits are reserved
    at create (``ceil(estimate)``; the estimate is the model's ``credits_per_second`` in ``config.profiles``
    plus the outputFormat surcharge, times the duration, 5 s when it is not a number) and refunded on failure.
    Outputs are real H.264 MP4 files generated on the fly (``prores`` -> the same stream in a .mov, not real
    ProRes; ``png_sequence`` and other image-sequence formats -> a .zip of real PNGs).

Faults: ``sim.inject(kind, times=1, method=None, path=None, body=None, **params)``
    ``path`` is a glob (``/v1/tasks/*``); ``body`` matches requests whose JSON body has those top-level
    values (``{"promptText": "..."}``: one job's creates); ``times=None`` means forever. Kinds and params:

    - ``http_error``: answer ``status`` (500) with ``{"error": message}``; ``retry_after`` adds a
      ``retry-after`` header. ``rate_limit`` is one with status 429 and retry_after=1.
    - ``delay``: sleep ``seconds`` (real seconds) before handling the request normally.
    - ``disconnect``: reset the TCP connection without answering.
    - ``reset_download`` / ``truncate_download`` (output downloads): send the full ``Content-Length`` header,
      then ``after_bytes`` (half the file) and a TCP reset / a clean close.
    - ``task_failure`` (next matching create): the task FAILs with ``code`` (``SAFETY.INPUT.TEXT``; e.g.
      ``SAFETY.OUTPUT.VIDEO``, ``INTERNAL.BAD_OUTPUT.CODE01``) and ``message``, at fraction ``at`` (0.5) of
      its run.
    - ``throttle`` (next matching create): the task stays THROTTLED for ``seconds`` simulated seconds (60).
    - ``output`` (next matching create): ``count`` outputs, ``format`` (an outputFormat or mp4/mov/zip) and
      ``size_bytes`` (a video of at least that size, streamed, never held in memory); ``urls`` (a list): the
      task's output URLs are exactly these (e.g. an attacker's ``https://169.254.169.254/...``), not its own.
    - ``expired_urls`` (``GET /v1/tasks/*``): that answer's output URLs expire after ``ttl`` real seconds
      (0: already expired). The next GET gives fresh URLs. ``config.output_url_ttl_s`` sets the usual
      lifetime.

    Not a fault but state: ``sim.set_credit_balance(n)``.

Inspection: ``sim.requests`` (every request: method, path, headers, parsed JSON body, status, faults
    fired), ``sim.created_tasks()`` (id, endpoint, model, body, created_at), ``sim.task(id)``,
    ``sim.output_digest(id, n)`` (bytes and SHA-256 of output n, whole),
    ``sim.engine.upload_for_uri(runway_uri)`` (the stored upload or None), ``sim.credit_balance``,
    ``sim.reset()``.

Control endpoints (no auth), to script a simulator in another process (``python -m local.simulator``):
    ``GET /_simulator/health``; ``POST /_simulator/reset``; ``POST /_simulator/faults`` with
    ``{"kind", "times", "method", "path", "body", "params": {...}}`` (returns the fault);
    ``GET|DELETE /_simulator/faults``; ``GET /_simulator/requests``; ``GET /_simulator/tasks``;
    ``POST /_simulator/settings`` with ``{"creditBalance": n}``.
"""

from .config import ManualClock, ModelProfile, SimulatorConfig
from .faults import Fault
from .server import CreatedTask, RecordedRequest, RunwaySimulator

__all__ = [
    "CreatedTask",
    "Fault",
    "ManualClock",
    "ModelProfile",
    "RecordedRequest",
    "RunwaySimulator",
    "SimulatorConfig",
]
