"""Domain code shared by every Lambda of the Runway video pipeline, in layers (each imports only lower ones):

- ``intake`` (entry side: API service, S3 inputs, cancels, job views) | ``pipeline`` (state machine steps)
- ``notifications`` (webhooks) | ``runway`` (the SDK client, error mapping, uploads, the one cancel)
- ``storage`` (DynamoDB job store, AWS error codes)
- ``catalog`` (every Runway video model, validation, the request -> wire translation)
- ``core`` (errors, request, job record, media types, settings, clock)

Nothing here knows about AWS event shapes: handlers under ``functions/`` translate events into calls on these
modules. ``observability`` holds the Powertools singletons the handlers share. The layers are enforced by
import contracts (``.importlinter``).
"""
