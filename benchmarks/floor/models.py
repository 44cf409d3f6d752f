from django.db import models


class Charge(models.Model):
    amount = models.BigIntegerField()
    qr_code = models.CharField(max_length=64, unique=True)
    status = models.CharField(max_length=16, default="processing")
    provider_payment_id = models.CharField(max_length=64, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
