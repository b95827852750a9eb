"""Aggregator metrics: bounded labels only (rule, severity, camera) — never a person id."""

from prometheus_client import Counter, Gauge, Histogram

PERSONS_ACTIVE = Gauge("vidsentry_persons_in_view", "People in view now", ["camera"])
FUSED_UPDATES = Counter("vidsentry_fused_updates_total", "Messages folded into per-person state", ["kind"])
DUPLICATES = Counter("vidsentry_duplicate_messages_total", "Redelivered messages ignored (already applied)", ["kind"])
ALERTS = Counter("vidsentry_alerts_total", "Alert records emitted", ["rule", "severity", "status"])
SUPPRESSED = Counter("vidsentry_alerts_suppressed_total", "Rule matches folded into an open incident or held by cooldown", ["rule"])
LINKS = Counter("vidsentry_face_body_links_total", "Face tracks linked to body tracks")
ALERT_LATENCY = Histogram("vidsentry_capture_to_alert_seconds", "From frame capture to alert emitted",
                          buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30))
WEBHOOK_FAILURES = Counter("vidsentry_webhook_failures_total", "Webhook alerts not delivered", ["reason"])
