import hashlib
import time

import requests
from django.conf import settings
from rest_framework import serializers
from rest_framework.decorators import api_view
from rest_framework.response import Response

from benchmarks.floor.models import Charge

_session = requests.Session()
_session.mount("http://", requests.adapters.HTTPAdapter(pool_maxsize=64))


class ChargeInput(serializers.Serializer):
    amount = serializers.IntegerField(min_value=1)
    qr_code = serializers.CharField(max_length=64)


@api_view(["POST"])
def charge(request):
    given = ChargeInput(data=request.data)
    given.is_valid(raise_exception=True)
    row = Charge.objects.create(**given.validated_data)
    stamp = int(time.time())
    digest = hashlib.sha1(f"{stamp}{settings.PROVIDER_SECRET}".encode()).hexdigest()
    answer = _session.post(
        settings.PROVIDER_URL,
        json={
            "service_id": settings.PROVIDER_SERVICE_ID,
            "otp_data": row.qr_code,
            "amount": row.amount / 100,
            "transaction_id": str(row.pk),
        },
        headers={"Auth": f"{settings.PROVIDER_USER}:{digest}:{stamp}"},
        timeout=30,
    ).json()
    paid = answer.get("payment_status") == 2
    row.status = "paid" if paid else "failed"
    row.provider_payment_id = str(answer.get("payment_id") or "")
    row.save(update_fields=["status", "provider_payment_id"])
    return Response({"data": {"payment_id": row.provider_payment_id}, "is_success": paid})
