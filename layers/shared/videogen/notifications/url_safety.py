"""Which webhook URLs the pipeline calls: the egress policy for webhooks (``videogen.egress.policy``).

Any public https host, unless ``WEBHOOK_HOST_ALLOWLIST`` names some; http to loopback only with
``ALLOW_LOOPBACK_HTTP`` (local stacks).
"""

from __future__ import annotations

from videogen.core.errors import InvalidWebhookUrl
from videogen.egress.policy import EgressPolicy, Resolver, system_resolver

__all__ = ["InvalidWebhookUrl", "check_webhook_url"]


def check_webhook_url(
    url: str, policy: EgressPolicy, *, resolve: bool = True, resolver: Resolver = system_resolver
) -> None:
    """Raise InvalidWebhookUrl unless ``url`` may receive notifications under ``policy``; with ``resolve``
    every address its host resolves to must be allowed too (a name that does not resolve is refused)."""
    if not isinstance(url, str):
        raise InvalidWebhookUrl("webhook URL must be a string")
    parsed = policy.check_url(url)
    if resolve:
        try:
            policy.addresses(parsed.host, resolver)
        except OSError:
            raise InvalidWebhookUrl(f"webhook URL host {parsed.host} does not resolve") from None
