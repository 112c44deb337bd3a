"""Piccolo app declaration: where the tables and their committed migrations live."""

import os

from piccolo.conf.apps import AppConfig

from domain.tables import ALL_TABLES

APP_CONFIG = AppConfig(
    app_name="domain",
    migrations_folder_path=os.path.join(os.path.dirname(os.path.abspath(__file__)), "piccolo_migrations"),
    table_classes=ALL_TABLES,
    migration_dependencies=[],
    commands=[],
)
