"""Bank slips and the shift report in the HUMO terminal layout: 36 columns, Cyrillic.

Used by the emulator; the shapes follow the public HUMO slip samples.
"""

from dataclasses import dataclass
from datetime import datetime

WIDTH = 36
RULE = "=" * WIDTH


def money(tiyin: int) -> str:
    return f"{tiyin // 100}.{tiyin % 100:02d}"


def spread(left: str, right: str) -> str:
    """`left` and `right` on one 36-column line, `right` flush right."""
    return left + right.rjust(WIDTH - len(left))


def centred(text: str) -> str:
    return text.center(WIDTH).rstrip()


@dataclass(frozen=True)
class SlipData:
    terminal_id: str
    merchant_id: str
    shift: int
    number: int
    amount: int
    rrn: str
    auth_code: str
    host_code: str
    masked_pan: str
    when: datetime


def purchase_slip(slip: SlipData, approved: bool) -> str:
    lines = [
        centred("ОБЫЧНЫЙ ТОВАР"),
        spread(f"ID Терминала:{slip.terminal_id}", f"Номер смены {slip.shift}"),
        f"ID Организации:{slip.merchant_id}",
        spread("", f"Чек {slip.number}"),
        centred("Оплата"),
        centred("ОДОБРЕНО" if approved else "ОТКАЗ"),
        spread("СУММА:", f"{money(slip.amount)} UZS"),
        spread("AID: A0860001000001", "HUMO- EMV ICC"),
        spread("Карта: HUMO", "Срок: 01/25"),
        centred(f"{slip.masked_pan}:01"),
        "Введен                   offline-PIN",
        f"Код авторизации: {slip.auth_code}",
        spread("", "Код ответа:"),
        slip.host_code,
        f"RRN:{slip.rrn}",
        spread("", f"Дата:{slip.when:%d/%m/%y}"),
        f"{slip.when:%H:%M:%S}",
        "Univ. EMV POS 1.0.0/(MP) /687",
        RULE,
    ]
    return "\n".join(lines)


def cancel_slip(slip: SlipData, original_rrn: str, approved: bool) -> str:
    lines = [
        centred("ОБЫЧНЫЙ ТОВАР"),
        spread(f"ID Терм.:{slip.terminal_id}", f"Номер смены {slip.shift}"),
        spread(f"ID Орг.:{slip.merchant_id}", f"Чек {slip.number}"),
        centred("Отмена (CANCEL)"),
        centred("ОДОБРЕНО" if approved else "ОТКАЗ"),
        centred("ОПЕРАЦИЯ ОТМЕНЕНА" if approved else "ОПЕРАЦИЯ НЕ ВЫПОЛНЕНА"),
        spread("СУММА:", f"{money(slip.amount)} UZS"),
        spread("AID:A0860001000001", "HUMO- Cless EMV"),
        "Карта:HUMO",
        centred(f"{slip.masked_pan}:01"),
        spread(f"Код авториз.:{slip.auth_code}", f"Код ответа:{slip.host_code}"),
        f"RRN(ссылка) :{original_rrn}",
        f"Дата:{slip.when:%d/%m/%y %H:%M:%S}",
        "Univ. EMV POS 1.0.0/(MP) /681",
        RULE,
    ]
    return "\n".join(lines)


@dataclass(frozen=True)
class ShiftTotals:
    purchases: int
    purchase_amount: int
    cancels: int
    cancel_amount: int

    @property
    def net(self) -> int:
        return self.purchase_amount - self.cancel_amount


def parse_totals(report: str) -> ShiftTotals | None:
    """The totals printed on a close-day report (ОПЛАТА, СУММА, ОТМЕНА, СУММА lines)."""
    values: dict[str, list[str]] = {}
    for line in report.splitlines():
        label, _, value = line.partition(" ")
        if label in ("ОПЛАТА", "ОТМЕНА", "СУММА") and value.strip():
            values.setdefault(label, []).append(value.strip().removesuffix(" UZS"))
    try:
        purchase_sum, cancel_sum = values["СУММА"][:2]
        return ShiftTotals(
            purchases=int(values["ОПЛАТА"][0]),
            purchase_amount=_tiyin(purchase_sum),
            cancels=int(values["ОТМЕНА"][0]),
            cancel_amount=_tiyin(cancel_sum),
        )
    except (KeyError, ValueError):
        return None


def _tiyin(text: str) -> int:
    whole, _, fraction = text.partition(".")
    return int(whole) * 100 + int(fraction or 0)


def close_day_report(
    terminal_id: str,
    merchant_id: str,
    shift: int,
    totals: ShiftTotals,
    when: datetime,
    *,
    closing: bool = True,
) -> str:
    """The end of day's report; not `closing`, the shift's report so far (it stays open)."""
    title = "Отчет закрытия смены" if closing else "Промежуточный отчет"
    ending = ["Итоги совпали", "Отчет окончен"] if closing else ["Смена не закрыта"]
    lines = [
        RULE,
        centred(title),
        RULE,
        centred("Сверка итогов" if closing else "Итоги смены"),
        spread(f"Дата:{when:%d/%m/%y}", f"Время:{when:%H:%M:%S}"),
        RULE,
        f"Терминал ID: {terminal_id}",
        f"ID магазина:  {merchant_id}",
        spread("Номер смены:", str(shift)),
        "-" * WIDTH,
        spread("ОПЛАТА", str(totals.purchases)),
        spread("СУММА", f"{money(totals.purchase_amount)} UZS"),
        spread("ОТМЕНА", str(totals.cancels)),
        spread("СУММА", f"{money(totals.cancel_amount)} UZS"),
        spread("ИТОГО", f"{money(totals.net)} UZS"),
        "-" * WIDTH,
        *(centred(line) for line in ending),
        RULE,
    ]
    return "\n".join(lines)
