#!/usr/bin/env bash
# Every call of the register API, in the order docs/api.md shows them, against `make run`
# (its database and its emulators): the README's sale and each example of docs/api.md are
# sections of this script, copied from it (tests/test_examples.py holds them equal, and
# runs the script against `make run`, twice on one database). Each answer is printed and
# checked: the script stops at the first answer that is not the one the docs promise.
#
#   docs/examples/walkthrough.sh                    # beside `make run`, on the same machine
#   API=http://10.0.0.5:8000 KEY=rk_... docs/examples/walkthrough.sh
#
# It needs bash, curl and python3 (to read an answer's fields).
set -euo pipefail

# >>> prelude
API=${API:-http://127.0.0.1:8000}
run=$(date +%s%N | cut -c1-13)  # this run's own codes and receipt numbers

post() {  # POST a JSON body to the API (more curl options after it); print the answer
  curl -sS -X POST "$API$1" -H 'Content-Type: application/json' \
    ${KEY:+-H "Authorization: Bearer $KEY"} -d "$2" "${@:3}"
}
get() { curl -sS ${KEY:+-H "Authorization: Bearer $KEY"} "$API$1"; }
data() {  # a field of an answer's data
  python3 -c 'import json, sys; print(json.load(sys.stdin)["data"][sys.argv[1]])' "$1"
}
receipt() {  # a fiscal receipt's OFD URL, number $1 of this run
  echo "https://ofd.soliq.uz/check?t=UZ170703100597&r=$run$1&c=$(date +%Y%m%d%H%M%S)&s=$run$1"
}
# <<<

# >>> checks
# ok ANSWER: it succeeded. refused ANSWER CODE [REASON]: it failed with that code (and
# error.data.reason). Either prints the answer, and stops the script when it is another.
ok() { check "$1" 0 ""; }
refused() { check "$1" "$2" "${3:-}"; }
check() {
  echo "$1"
  python3 - "$@" <<'PY'
import json, sys
answer, code, reason = json.loads(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
error = answer["error"] or {}
got = (0, "") if answer["is_success"] else (error["code"], (error.get("data") or {}).get("reason", ""))
if got[0] != code or (reason and got[1] != reason):
    sys.exit(f"expected {code} {reason}, got {got[0]} {got[1]}")
PY
}
# <<<

# >>> click-charge
sale=$(post /payment/click "{\"amount\": 500, \"qr_code\": \"880101$run\"}")
ok "$sale"
click_payment=$(echo "$sale" | data payment_id)
click_sale=$(echo "$sale" | data transaction_id)
# <<<

# >>> click-confirm
ok "$(post /payment/click_confirm "{\"payment_id\": \"$click_payment\", \"qrcode\": \"$(receipt 1)\"}")"
# <<<

# >>> payme-charge
sale=$(post /payment/payme "{\"amount\": 500, \"qr_code\": \"505010$run\"}")
ok "$sale"
payme_receipt=$(echo "$sale" | data payment_id)
payme_sale=$(echo "$sale" | data transaction_id)
# <<<

# >>> payme-confirm
ok "$(post /payment/payme_confirm "{\"payme_id\": \"$payme_receipt\", \"qr_code_url\": \"$(receipt 2)\"}")"
# <<<

# >>> uzum-charge
sale=$(post /payment/uzum "{\"amount\": 500, \"qr_code\": \"7993:5061401:01KFDH7KB4KNBJD8QRVFBVQ39X:$run\"}")
ok "$sale"
uzum_payment=$(echo "$sale" | data payment_id)
uzum_sale=$(echo "$sale" | data transaction_id)
# <<<

# >>> uzum-confirm
ok "$(post /payment/uzum_confirm "{\"payment_id\": \"$uzum_payment\", \"qr_code\": \"$(receipt 3)\"}")"
# <<<

# >>> humo-purchase
sale=$(post /payment/xumo '{"amount": 50000}')
ok "$sale"
rrn=$(echo "$sale" | data ppt_id)
humo_sale=$(echo "$sale" | data transaction_id)
# <<<

# >>> humo-return
ok "$(post /payment/xumo "{\"amount\": 10000, \"request_id\": \"$rrn\", \"is_return\": true}")"
# <<<

# >>> refunds
# CLICK: in two parts, then nothing is left.
ok "$(post /payment/refund "{\"transaction_id\": \"$click_sale\", \"amount\": 200}" -H "Idempotency-Key: $run-1")"
ok "$(post /payment/refund "{\"transaction_id\": \"$click_sale\"}")"
refused "$(post /payment/refund "{\"transaction_id\": \"$click_sale\", \"amount\": 100}")" 106 already_reversed
# The same request again with its key: the first answer, no second refund.
ok "$(post /payment/refund "{\"transaction_id\": \"$click_sale\", \"amount\": 200}" -H "Idempotency-Key: $run-1")"
# Payme and Uzum: the whole purchase only.
refused "$(post /payment/refund "{\"transaction_id\": \"$payme_sale\", \"amount\": 100}")" 106 partial_reversal_not_supported
ok "$(post /payment/refund "{\"transaction_id\": \"$payme_sale\"}")"
refused "$(post /payment/refund "{\"transaction_id\": \"$uzum_sale\", \"amount\": 100}")" 106 partial_reversal_not_supported
ok "$(post /payment/refund "{\"transaction_id\": \"$uzum_sale\"}")"
# HUMO: what is left of the purchase above, on the PIN pad.
ok "$(post /payment/refund "{\"transaction_id\": \"$humo_sale\", \"amount\": 40000}")"
# <<<

# >>> lost-refund
# CLICK gives the money back and its answer is lost, and so is the lookup after it (the
# emulator is told so): the register hears 110 with the refund's id, nothing is sent
# again, and reconcile asks CLICK.
CLICK_EMULATOR=${CLICK_EMULATOR:-http://127.0.0.1:8101}
sale=$(post /payment/click "{\"amount\": 500, \"qr_code\": \"880102$run\"}")
ok "$sale"
curl -sS -X POST "$CLICK_EMULATOR/_emulator/faults" -d '{"operation": "payment/reversal", "fault": "reset_after"}'; echo
curl -sS -X POST "$CLICK_EMULATOR/_emulator/faults" -d '{"operation": "payment/status", "fault": "server_error"}'; echo
lost=$(post /payment/refund "{\"transaction_id\": \"$(echo "$sale" | data transaction_id)\"}")
refused "$lost" 110
refund=$(echo "$lost" | python3 -c 'import json, sys; print(json.load(sys.stdin)["error"]["data"]["transaction_id"])')
${MANAGE:-.venv/bin/python manage.py} reconcile --min-age 0 || echo "reconcile: $? (a person is needed elsewhere)"
ok "$(get "/payment/status/$refund")"
[ "$(get "/payment/status/$refund" | data status)" = reversed ]
# <<<

# >>> humo-close
ok "$(get /payment/xumo_close)"
# <<<

# >>> humo-shift-report
ok "$(get /payment/xumo_shortreport/)"
# <<<

# >>> humo-print-last
ok "$(get /payment/xumo/print_last)"
ok "$(get /payment/xumo_close/print_last)"
# <<<

# >>> status
ok "$(get "/payment/status/$uzum_sale")"
# <<<

# >>> idempotency
# The same request with the same key: the first answer again, one charge.
first=$(post /payment/click "{\"amount\": 500, \"qr_code\": \"880103$run\"}" -H "Idempotency-Key: sale-$run")
ok "$first"
[ "$(post /payment/click "{\"amount\": 500, \"qr_code\": \"880103$run\"}" -H "Idempotency-Key: sale-$run")" = "$first" ]
# <<<

# >>> errors
# A decline (the emulator's code 99015017…): 104 with CLICK's own code and text.
refused "$(post /payment/click '{"amount": 500, "qr_code": "99015017000001"}')" 104
# A field that fails its check: 7, the seed's JSON text in `message`, the same errors as
# an object in `error.data.fields`.
refused "$(post /payment/click_confirm "{\"payment_id\": \"\", \"qrcode\": \"$(receipt 4)\"}")" 7
# A lost answer (9905…: CLICK answers HTTP 500): 110 with our transaction id. Do not charge
# again: ask GET /payment/status, and reconcile settles it.
refused "$(post /payment/click "{\"amount\": 500, \"qr_code\": \"9905$run\"}")" 110
# <<<
