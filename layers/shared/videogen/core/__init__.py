"""Plain data and the rules every layer shares: errors, the request, the job record, media types, settings,
time. Imports nothing else of ``videogen``."""
