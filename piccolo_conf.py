"""Piccolo's configuration: the engine named by HOLAOLAS_DATABASE_URL and our one app."""

from piccolo.conf.apps import AppRegistry

from domain.config import load_settings
from domain.db import make_engine

DB = make_engine(load_settings().database)

APP_REGISTRY = AppRegistry(apps=["domain.piccolo_app"])
