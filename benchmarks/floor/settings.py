"""Settings of the floor service: the same database and connection policy as the service,
nothing else."""

import os

import environ

env = environ.Env()

SECRET_KEY = "floor-benchmark-only"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
INSTALLED_APPS = ["rest_framework", "benchmarks.floor"]
MIDDLEWARE: list[str] = []
ROOT_URLCONF = "benchmarks.floor.urls"
WSGI_APPLICATION = "benchmarks.floor.wsgi.application"
DATABASES = {"default": env.db("DATABASE_URL")}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=600)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": [],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "UNAUTHENTICATED_USER": None,
}
PROVIDER_URL = os.environ["FLOOR_PROVIDER_URL"]
PROVIDER_USER = os.environ.get("FLOOR_PROVIDER_USER", "12345")
PROVIDER_SERVICE_ID = int(os.environ.get("FLOOR_PROVIDER_SERVICE_ID", "40012"))
PROVIDER_SECRET = os.environ.get("FLOOR_PROVIDER_SECRET", "EMULATOR_SECRET_KEY")
# As the service binds and prepares its statements on PostgreSQL (config/settings.py).
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"]["OPTIONS"] = {"server_side_binding": True, "prepare_threshold": 5}
