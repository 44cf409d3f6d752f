"""Reasons stored as codes with parameters (payments/reasons.py): each timeline step's
sentence becomes its code and parameters, and each operator action's outcome, stored
already translated, is kept as it was under the code `text`. A sentence this migration
cannot read is kept the same way. Its table of the old sentences is its own: the code it
converts to is what the service wrote on the day of this migration."""

import re

from django.db import migrations, models

# The heads the service wrote before ": <outcome>" (the provider's answer's outcome).
WITH_OUTCOME = {
    "prepared": "prepared",
    "answered": "answered",
    "status after lost answer": "status_after_lost_answer",
    "after polling": "after_polling",
    "status lookup": "status_lookup",
    "reconcile": "reconcile",
    "settled by a late answer": "settled_by_late_answer",
}
WHOLE = {
    "sent": "sent",
    "more than is left": "more_than_is_left",
    "fiscal receipt accepted": "fiscal_accepted",
    "already on file at the provider": "fiscal_on_file",
    "reversed at the provider": "reversed_at_provider",
    "the provider has no such payment": "no_such_payment",
    "never reached the provider: its latest operation is an earlier one": "never_reached_provider",
    "never sent to the provider": "never_sent",
    "the register hung up before it was sent": "register_hung_up",
}
PATTERNS = [
    (re.compile(r"status poll (?P<attempt>\d+): (?P<outcome>\w+)"), "status_poll"),
    (re.compile(r"fiscal receipt not accepted: (?P<outcome>\w+)"), "fiscal_not_accepted"),
    (re.compile(r"reversed at the provider: (?P<message>.*)", re.S), "reversed_at_provider"),
    (re.compile(r"reversed (?P<amount>\d+) by (?P<by>\S+)"), "reversed_part"),
    (re.compile(r"by hand: (?P<words>.*)", re.S), "by_hand"),
    (re.compile(r"could not be settled: (?P<error>.*)", re.S), "could_not_settle"),
]
OUTCOMES = {"success", "pending", "failed", "unknown"}


def code_of(sentence: str) -> tuple[str, dict]:
    if sentence in WHOLE:
        return WHOLE[sentence], {}
    head, colon, tail = sentence.partition(": ")
    if colon and head in WITH_OUTCOME and tail in OUTCOMES:
        return WITH_OUTCOME[head], {"outcome": tail}
    for pattern, code in PATTERNS:
        found = pattern.fullmatch(sentence)
        if found:
            data = found.groupdict()
            if "attempt" in data:
                data["attempt"] = int(data["attempt"])
            if "amount" in data:
                data["amount"] = int(data["amount"])
            return code, data
    return "text", {"text": sentence}


def to_codes(apps, schema_editor):
    events = apps.get_model("payments", "PaymentEvent")
    changed = []
    for event in events.objects.only("id", "reason").iterator(chunk_size=2000):
        code, data = code_of(event.reason)
        event.reason, event.reason_data = code, data
        changed.append(event)
        if len(changed) >= 2000:
            events.objects.bulk_update(changed, ["reason", "reason_data"])
            changed = []
    events.objects.bulk_update(changed, ["reason", "reason_data"])
    actions = apps.get_model("payments", "OperatorAction")
    kept = []
    for action in actions.objects.exclude(outcome="").only("id", "outcome"):
        action.outcome, action.outcome_data = "text", {"text": action.outcome}
        kept.append(action)
    actions.objects.bulk_update(kept, ["outcome", "outcome_data"], batch_size=2000)


def sentence_of(code: str, data: dict) -> str:
    """The sentence the release before this one wrote for a code (for a rollback)."""
    if code == "text":
        return str(data.get("text", ""))
    for sentence, known in WHOLE.items():
        if known == code and not data.get("message"):
            return sentence
    for head, known in WITH_OUTCOME.items():
        if known == code:
            return f"{head}: {data.get('outcome', 'unknown')}"
    old = {
        "status_poll": "status poll {attempt}: {outcome}",
        "fiscal_not_accepted": "fiscal receipt not accepted: {outcome}",
        "reversed_at_provider": "reversed at the provider: {message}",
        "reversed_part": "reversed {amount} by {by}",
        "by_hand": "by hand: {words}",
        "could_not_settle": "could not be settled: {error}",
    }
    if code in old:
        try:
            return old[code].format(**data)[:255]
        except KeyError:
            pass
    return code


def to_sentences(apps, schema_editor):
    events = apps.get_model("payments", "PaymentEvent")
    changed = []
    for event in events.objects.only("id", "reason", "reason_data").iterator(chunk_size=2000):
        event.reason = sentence_of(event.reason, event.reason_data or {})
        changed.append(event)
    events.objects.bulk_update(changed, ["reason"], batch_size=2000)
    actions = apps.get_model("payments", "OperatorAction")
    kept = []
    for action in actions.objects.exclude(outcome="").only("id", "outcome", "outcome_data"):
        data = action.outcome_data or {}
        action.outcome = str(data.get("text", "")) if action.outcome == "text" else action.outcome
        kept.append(action)
    actions.objects.bulk_update(kept, ["outcome"], batch_size=2000)


class Migration(migrations.Migration):
    dependencies = [
        ("payments", "0021_reversal_in_flight"),
    ]

    operations = [
        migrations.AddField(
            model_name="operatoraction",
            name="outcome_data",
            field=models.JSONField(blank=True, default=dict, verbose_name="outcome's details"),
        ),
        migrations.AddField(
            model_name="paymentevent",
            name="reason_data",
            field=models.JSONField(blank=True, default=dict, verbose_name="reason's details"),
        ),
        migrations.RunPython(to_codes, to_sentences),
    ]
