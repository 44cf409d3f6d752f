"""The serializers' fields are copied cheaply for each serializer made, and each made one
still has fields of its own."""

import threading

from payments.api.serializers import ClickChargeOutput, QrChargeInput


def test_each_serializer_made_has_its_own_bound_fields() -> None:
    first, second = QrChargeInput(data={}), QrChargeInput(data={"amount": 5})
    for name in ("amount", "qr_code"):
        assert first.fields[name] is not second.fields[name]
        assert first.fields[name].parent is first
        assert second.fields[name].parent is second
    # The declared fields, from which each is copied, are bound to none of them.
    assert QrChargeInput._declared_fields["amount"].parent is None


def test_serializers_made_at_once_validate_each_its_own_data() -> None:
    answers: dict[int, object] = {}

    def validate(number: int) -> None:
        given = QrChargeInput(data={"amount": number, "qr_code": f"{number:010d}"})
        given.is_valid()
        answers[number] = given.validated_data if not given.errors else given.errors

    threads = [threading.Thread(target=validate, args=(n,)) for n in range(1, 33)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert answers == {n: {"amount": n, "qr_code": f"{n:010d}"} for n in range(1, 33)}


def test_an_answer_reads_each_field_from_its_own_source() -> None:
    class Paid:
        provider_code = "0"
        provider_message = "Успешно"
        transaction_id = "0d4b1c9e-6f0e-4a51-9c1e-5a7b8f1b2c3d"
        provider_payment_id = "901"
        amount = 500
        qr_code = "7700112233"
        payer_phone = "998901112233"

    data = ClickChargeOutput(Paid()).data
    assert data["message"] == "Успешно"
    assert data["payment_id"] == "901"
    assert data["client_phone_number"] == "998901112233"
