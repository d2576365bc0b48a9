"""docker-compose.yml stays consistent with the Dockerfile and the settings it sets."""

from pathlib import Path

import yaml

from validator.config import Settings

ROOT = Path(__file__).parents[2]


def test_compose_runs_two_replicas_of_the_image_on_postgres():
    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    replicas = [s for name, s in services.items() if name.startswith("replica")]
    assert len(replicas) == 2
    exposed = next(
        line.split()[1] for line in (ROOT / "Dockerfile").read_text().splitlines() if line.startswith("EXPOSE")
    )
    env = {k: str(v) for k, v in replicas[0]["environment"].items() if "${" not in str(v)}
    settings = Settings.from_env(env)  # every variable is a known setting with a valid value
    assert settings.database_url.startswith("postgresql://") and "@postgres:" in settings.database_url
    for replica in replicas:
        assert replica["build"] == "."
        assert replica["ports"][0].endswith(f":{exposed}")
        assert replica["depends_on"]["postgres"]["condition"] == "service_healthy"
