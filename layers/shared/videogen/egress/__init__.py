"""Outbound HTTP: which URLs the pipeline may request (``policy``), what addresses those are
(``addresses``) and clients that connect only to the addresses checked (``transport``)."""
