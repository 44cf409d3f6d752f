"""Log lines as JSON (LOG_FORMAT=json), for a log collector: one object per line with the
request id, the register and the payment, and no payer's phone or card number in it."""

import json
import logging
import re

# A payer's phone (998 and nine digits) and a card number (16 digits of HUMO, UzCard, Visa
# or Mastercard, whole or masked): what a provider's answer quoted in a message could carry.
# Other long numbers (a provider's payment id) stay readable.
PHONE = re.compile(r"(?<!\d)998(\d{2})\d{5}(\d{2})(?!\d)")
CARD = re.compile(r"(?<![\d*])(?:9860|8600|4\d{3}|5\d{3})[\d*]{8}(\d{4})(?![\d*])")


def mask_phone(phone: str) -> str:
    """998901234567 -> 99890*****67: enough to tell two payers apart on a call, not to call.
    The one way a phone is masked: in the logs, the CSV export and the back office."""
    return phone[:5] + "*" * (len(phone) - 7) + phone[-2:] if len(phone) > 7 else "*" * len(phone)


def mask_card(card: str) -> str:
    """Only the last four digits."""
    return "*" * (len(card) - 4) + card[-4:] if len(card) > 4 else card


def scrub(text: str) -> str:
    """Every phone and card number in a text, masked."""
    text = PHONE.sub(lambda m: mask_phone(m.group(0)), text)
    return CARD.sub(lambda m: mask_card(m.group(0)), text)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
            "logger": record.name,
            "message": scrub(record.getMessage()),
            "request_id": getattr(record, "request_id", "-"),
            "register": getattr(record, "register", "-"),
            "transaction_id": getattr(record, "transaction_id", "-"),
        }
        if record.exc_info:
            line["exception"] = scrub(self.formatException(record.exc_info))
        return json.dumps(line, ensure_ascii=False)


class ScrubFilter(logging.Filter):
    """Masks phones and card numbers in every line, whatever its format."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = scrub(message)
        if cleaned != message:
            record.msg, record.args = cleaned, ()
        return True
