"""Run a component's Alembic migrations: ``python -m kernel.migrate policy`` (or gateway, claims, …).

Each component keeps its own ``migrations/`` folder beside its models; the database URL comes
from the component's own settings (e.g. ``POLICY_DATABASE_URL``) unless ``--url`` is given.
"""

from __future__ import annotations

import argparse
import importlib
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import make_url

COMPONENTS = {
    "gateway": "gateway",
    "policy": "services.policy",
    "claims": "services.claims",
    "prevention": "services.prevention",
    "monitoring": "services.monitoring",
}


def alembic_config(component: str, url: str | None = None) -> Config:
    package = importlib.import_module(COMPONENTS[component])
    url = url or importlib.import_module(f"{COMPONENTS[component]}.settings").Settings().database_url
    config = Config()
    config.set_main_option("script_location", str(Path(package.__file__).parent / "migrations"))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    config.attributes["component"] = component
    return config


def upgrade(component: str, url: str | None = None, revision: str = "head") -> None:
    config = alembic_config(component, url)
    database = make_url(config.get_main_option("sqlalchemy.url"))
    if database.get_backend_name() == "sqlite" and database.database:
        Path(database.database).parent.mkdir(parents=True, exist_ok=True)
    command.upgrade(config, revision)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("component", choices=sorted(COMPONENTS) + ["all"])
    parser.add_argument("--url", help="database URL (default: the component's settings)")
    parser.add_argument("--revision", default="head")
    args = parser.parse_args(argv)
    for component in COMPONENTS if args.component == "all" else [args.component]:
        upgrade(component, None if args.component == "all" else args.url, args.revision)


if __name__ == "__main__":
    main()
