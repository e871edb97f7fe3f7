"""Deployment files say what the code expects: docker-compose.yml, deploy/k8s, the scripts, the Dockerfile.

Nothing here starts a container; the files are parsed and checked against the interfaces the
components provide (module paths, ports, environment, health endpoints, topics).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

from contracts.topics import ALL_TOPICS

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
TOPICS_SCRIPT = ROOT / "deploy" / "kafka" / "topics.sh"
POSTGRES_INIT = ROOT / "deploy" / "postgres" / "init-databases.sh"

# component -> (port, ASGI factory)
COMPONENTS = {
    "gateway": (8000, "gateway.app:create_app"),
    "policy": (8001, "services.policy.app:create_app"),
    "claims": (8002, "services.claims.app:create_app"),
    "prevention": (8003, "services.prevention.app:create_app"),
    "monitoring": (8004, "services.monitoring.app:create_app"),
}
SERVICES = [c for c in COMPONENTS if c != "gateway"]
PLATFORM_ENV = (
    "KAFKA_BOOTSTRAP_SERVERS",
    "KAFKA_ENABLE_IDEMPOTENCE",
    "KAFKA_TOPIC_PARTITIONS",
    "KAFKA_REPLICATION_FACTOR",
    "JWT_PUBLIC_KEY_FILE",
    "JWT_ISSUER",
    "JWT_AUDIENCE",
    "LOG_LEVEL",
)
GATEWAY_ENV = (
    "GATEWAY_JWT_PRIVATE_KEY_FILE",
    "GATEWAY_POLICY_URL",
    "GATEWAY_CLAIMS_URL",
    "GATEWAY_PREVENTION_URL",
    "GATEWAY_MONITORING_URL",
    "GATEWAY_RATE_LIMIT",
    "GATEWAY_TOKEN_TTL_SECONDS",
)


def serve_command(component: str) -> list[str]:
    port, factory = COMPONENTS[component]
    return ["uvicorn", factory, "--factory", "--host", "0.0.0.0", "--port", str(port)]


def database_name(url: str) -> tuple[str, str]:
    """(role, database) of a SQLAlchemy URL, with compose's ${VAR:-default} left in the password."""
    parts = urlsplit(url)
    assert parts.scheme == "postgresql+asyncpg", url
    assert parts.hostname == "postgres", url
    role = parts.netloc.split("@")[0].split(":")[0]
    return role, parts.path.lstrip("/")


# ---- docker-compose.yml --------------------------------------------------------------------


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


@pytest.fixture(scope="module")
def services(compose) -> dict:
    return compose["services"]


def depends_on(service: dict) -> dict[str, str]:
    deps = service.get("depends_on", {})
    assert isinstance(deps, dict), "depends_on must use the long form with conditions"
    return {name: spec["condition"] for name, spec in deps.items()}


@pytest.mark.parametrize("component", COMPONENTS)
def test_every_component_runs_its_own_module_with_uvicorn(services, component):
    assert services[component]["command"] == serve_command(component)


@pytest.mark.parametrize("component", COMPONENTS)
def test_every_component_starts_after_its_migration_job_completed(services, component):
    migrate = services[f"{component}-migrate"]
    assert migrate["command"] == ["python", "-m", "kernel.migrate", component]
    assert migrate.get("restart") == "no"
    assert depends_on(migrate) == {"postgres": "service_healthy"}
    assert depends_on(services[component])[f"{component}-migrate"] == "service_completed_successfully"


@pytest.mark.parametrize("component", COMPONENTS)
def test_every_component_waits_for_healthy_kafka_and_postgres_topics_and_keys(services, component):
    deps = depends_on(services[component])
    assert deps["postgres"] == "service_healthy"
    assert deps["kafka"] == "service_healthy"
    assert deps["kafka-topics"] == "service_completed_successfully"
    assert deps["keys"] == "service_completed_successfully"


@pytest.mark.parametrize("component", COMPONENTS)
def test_every_component_is_healthchecked_on_readyz_of_its_own_port(services, component):
    port, _ = COMPONENTS[component]
    test = services[component]["healthcheck"]["test"]
    assert test[:3] == ["CMD", "python", "-c"], "the slim image has python, not curl"
    assert f"http://127.0.0.1:{port}/readyz" in test[3]
    assert "urllib.request" in test[3]


def test_infrastructure_has_healthchecks(services):
    assert "healthcheck" in services["postgres"]
    assert "healthcheck" in services["kafka"]


@pytest.mark.parametrize("component", COMPONENTS)
def test_every_component_gets_the_platform_settings(services, component):
    env = services[component]["environment"]
    missing = [name for name in PLATFORM_ENV if name not in env]
    assert not missing
    assert env["JWT_PUBLIC_KEY_FILE"] == "/keys/jwt-public.pem"
    assert env["JWT_ISSUER"] == "anzexian-gateway"
    assert env["JWT_AUDIENCE"] == "anzexian-api"
    assert env["KAFKA_BOOTSTRAP_SERVERS"] == "kafka:9092"


@pytest.mark.parametrize("component", COMPONENTS)
def test_producers_are_idempotent_on_apache_kafka(services, component):
    assert str(services[component]["environment"]["KAFKA_ENABLE_IDEMPOTENCE"]).lower() == "true"


def test_each_component_has_exactly_its_own_database(services):
    owners: dict[str, str] = {}
    for component in COMPONENTS:
        env = services[component]["environment"]
        urls = {k: v for k, v in env.items() if k.endswith("_DATABASE_URL")}
        assert list(urls) == [f"{component.upper()}_DATABASE_URL"], "a component sees only its own database"
        role, database = database_name(urls[f"{component.upper()}_DATABASE_URL"])
        assert (role, database) == (component, component)
        assert database not in owners, f"{component} shares database {database} with {owners.get(database)}"
        owners[database] = component
        migrate_env = services[f"{component}-migrate"]["environment"]
        assert migrate_env[f"{component.upper()}_DATABASE_URL"] == urls[f"{component.upper()}_DATABASE_URL"]


def test_postgres_init_script_creates_a_database_and_role_per_component(services):
    script = POSTGRES_INIT.read_text()
    for component in COMPONENTS:
        assert re.search(rf"^create_database {component}\s", script, re.MULTILINE), component
        assert f"{component.upper()}_DB_PASSWORD" in services["postgres"]["environment"]
    assert "REVOKE ALL ON DATABASE" in script
    mounts = services["postgres"]["volumes"]
    assert any(m.startswith("./deploy/postgres/init-databases.sh:/docker-entrypoint-initdb.d/") for m in mounts)


def test_kafka_runs_in_kraft_mode_without_zookeeper(compose, services):
    kafka = services["kafka"]
    assert kafka["image"].startswith("apache/kafka:")
    env = kafka["environment"]
    assert set(env["KAFKA_PROCESS_ROLES"].split(",")) == {"broker", "controller"}
    assert env["KAFKA_CONTROLLER_QUORUM_VOTERS"]
    assert env["CLUSTER_ID"]
    text = yaml.safe_dump(compose).lower()
    assert "zookeeper" not in text


def test_single_broker_compose_uses_replication_factor_one(services):
    assert services["kafka-topics"]["environment"]["KAFKA_REPLICATION_FACTOR"] == "1"
    assert services["kafka-topics"]["environment"]["KAFKA_MIN_INSYNC_REPLICAS"] == "1"
    assert services["kafka-topics"]["command"] == ["bash", "/opt/anzexian/topics.sh"]
    assert depends_on(services["kafka-topics"]) == {"kafka": "service_healthy"}
    for component in COMPONENTS:
        assert services[component]["environment"]["KAFKA_REPLICATION_FACTOR"] == "1"


def test_gateway_routes_to_each_service_on_its_port(services):
    env = services["gateway"]["environment"]
    assert not [name for name in GATEWAY_ENV if name not in env]
    for service in SERVICES:
        assert env[f"GATEWAY_{service.upper()}_URL"] == f"http://{service}:{COMPONENTS[service][0]}"
    assert env["GATEWAY_JWT_PRIVATE_KEY_FILE"] == "/keys/jwt-private.pem"


def test_only_the_gateway_publishes_a_port(services):
    published = sorted(name for name, service in services.items() if service.get("ports"))
    assert published == ["gateway"]


def test_jwt_keys_are_written_once_and_mounted_read_only(compose, services):
    keys = services["keys"]
    assert keys["command"] == ["python", "-m", "gateway.keys", "generate", "--dir", "/keys"]
    assert keys["volumes"] == ["jwt-keys:/keys"]
    assert "jwt-keys" in compose["volumes"]
    for component in COMPONENTS:
        assert "jwt-keys:/keys:ro" in services[component]["volumes"], component


def test_app_containers_run_from_the_repository_image_and_locked_down(services):
    image = services["gateway"]["image"]
    for name in [*COMPONENTS, *(f"{c}-migrate" for c in COMPONENTS), "keys"]:
        service = services[name]
        assert service["image"] == image
        assert service["build"]["context"] == "."
        assert service["read_only"] is True
        assert "ALL" in service["cap_drop"]


# ---- scripts -------------------------------------------------------------------------------


def test_topics_script_creates_every_topic_of_the_contracts():
    script = TOPICS_SCRIPT.read_text()
    event_topics = re.search(r'^EVENT_TOPICS="([^"]+)"', script, re.MULTILINE).group(1).split()
    suffix = re.search(r'^DEAD_LETTER_SUFFIX="([^"]+)"', script, re.MULTILINE).group(1)
    assert set(event_topics) | {t + suffix for t in event_topics} == set(ALL_TOPICS)


def test_topics_script_defaults_to_durable_settings():
    script = TOPICS_SCRIPT.read_text()
    assert 'REPLICATION_FACTOR="${KAFKA_REPLICATION_FACTOR:-3}"' in script
    assert 'MIN_INSYNC_REPLICAS="${KAFKA_MIN_INSYNC_REPLICAS:-2}"' in script
    assert "min.insync.replicas=${MIN_INSYNC_REPLICAS}" in script
    assert "unclean.leader.election.enable=false" in script


@pytest.mark.parametrize("script", [TOPICS_SCRIPT, POSTGRES_INIT], ids=lambda p: p.name)
def test_scripts_are_valid_bash(script):
    bash = shutil.which("bash")
    if bash is None:
        pytest.skip("bash not installed")
    subprocess.run([bash, "-n", str(script)], check=True)


# ---- Dockerfile ----------------------------------------------------------------------------


def test_dockerfile_installs_the_project_on_python_slim_as_non_root():
    dockerfile = (ROOT / "Dockerfile").read_text()
    froms = re.findall(r"^FROM\s+(\S+)", dockerfile, re.MULTILINE)
    assert froms and all(f == "python:3.11-slim" for f in froms)
    assert re.search(r"pip install (--no-deps )?\.", dockerfile)
    users = re.findall(r"^USER\s+(\S+)", dockerfile, re.MULTILINE)
    assert users and users[-1].split(":")[0] not in {"root", "0"}


def test_dockerignore_keeps_local_state_and_secrets_out():
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    ignored = {line.strip() for line in lines if line.strip() and not line.startswith("#")}
    assert {".git", ".venv", "*.pem", ".env", "tests"} <= ignored
    assert "README.md" not in ignored and "pyproject.toml" not in ignored


# ---- deploy/k8s ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def kustomization() -> dict:
    return yaml.safe_load((K8S / "kustomization.yaml").read_text())


@pytest.fixture(scope="module")
def manifests(kustomization) -> list[dict]:
    docs: list[dict] = []
    for resource in kustomization["resources"]:
        docs.extend(d for d in yaml.safe_load_all((K8S / resource).read_text()) if d)
    return docs


def objects(manifests, kind: str) -> dict[str, dict]:
    return {d["metadata"]["name"]: d for d in manifests if d["kind"] == kind}


def test_kustomization_lists_every_manifest(kustomization):
    on_disk = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    assert set(kustomization["resources"]) == on_disk
    assert kustomization["namespace"] == "anzexian"
    assert [i["name"] for i in kustomization["images"]] == ["anzexian-platform"]


def test_every_component_has_a_deployment_service_pdb_and_migration_job(manifests):
    assert set(objects(manifests, "Deployment")) == set(COMPONENTS)
    assert set(objects(manifests, "Service")) == set(COMPONENTS)
    assert set(objects(manifests, "PodDisruptionBudget")) == set(COMPONENTS)
    jobs = objects(manifests, "Job")
    for component in COMPONENTS:
        container = jobs[f"{component}-migrate"]["spec"]["template"]["spec"]["containers"][0]
        assert container["command"] == ["python", "-m", "kernel.migrate", component]
        assert container["image"] == "anzexian-platform"
    assert "Namespace" in {d["kind"] for d in manifests}


@pytest.mark.parametrize("component", COMPONENTS)
def test_every_deployment_has_its_image_command_and_probes(manifests, component):
    deployment = objects(manifests, "Deployment")[component]
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    port, _ = COMPONENTS[component]
    assert container["image"] == "anzexian-platform"
    assert container["command"] == serve_command(component)
    assert container["ports"] == [{"name": "http", "containerPort": port}]
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["resources"]["requests"]["cpu"] and container["resources"]["limits"]["memory"]


@pytest.mark.parametrize("component", COMPONENTS)
def test_every_deployment_runs_as_non_root_with_read_only_root(manifests, component):
    pod = objects(manifests, "Deployment")[component]["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] != 0
    container = pod["containers"][0]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["allowPrivilegeEscalation"] is False


@pytest.mark.parametrize("component", COMPONENTS)
def test_k8s_components_read_config_and_only_their_own_database_secret(manifests, component):
    container = objects(manifests, "Deployment")[component]["spec"]["template"]["spec"]["containers"][0]
    config_maps = [e["configMapRef"]["name"] for e in container["envFrom"]]
    assert "platform-config" in config_maps
    assert ("gateway-config" in config_maps) == (component == "gateway")
    database_env = [e for e in container["env"] if e["name"].endswith("_DATABASE_URL")]
    assert database_env == [
        {
            "name": f"{component.upper()}_DATABASE_URL",
            "valueFrom": {"secretKeyRef": {"name": f"{component}-database", "key": "url"}},
        }
    ]


def test_only_the_gateway_mounts_the_signing_key(manifests):
    for name, deployment in objects(manifests, "Deployment").items():
        volumes = {v["name"]: v for v in deployment["spec"]["template"]["spec"]["volumes"]}
        text = yaml.safe_dump(volumes["jwt-keys"])
        assert "jwt-verify-key" in text
        assert ("jwt-signing-key" in text) == (name == "gateway"), name


def test_services_select_the_deployment_pods_not_the_job_pods(manifests):
    deployments = objects(manifests, "Deployment")
    for name, service in objects(manifests, "Service").items():
        labels = deployments[name]["spec"]["template"]["metadata"]["labels"]
        assert service["spec"]["selector"].items() <= labels.items()
        assert service["spec"]["selector"]["app.kubernetes.io/component"] == "api"
        assert service["spec"]["ports"][0]["port"] == COMPONENTS[name][0]


def test_k8s_config_uses_replicated_idempotent_kafka(manifests):
    config = objects(manifests, "ConfigMap")["platform-config"]["data"]
    assert not [name for name in PLATFORM_ENV if name not in config]
    assert config["KAFKA_ENABLE_IDEMPOTENCE"] == "true"
    assert config["KAFKA_REPLICATION_FACTOR"] == "3"
    assert config["KAFKA_MIN_INSYNC_REPLICAS"] == "2"
    gateway = objects(manifests, "ConfigMap")["gateway-config"]["data"]
    assert not [name for name in GATEWAY_ENV if name not in gateway]
    for service in SERVICES:
        assert gateway[f"GATEWAY_{service.upper()}_URL"] == f"http://{service}:{COMPONENTS[service][0]}"


def test_k8s_topics_job_runs_the_same_script(manifests):
    script = objects(manifests, "ConfigMap")["kafka-topics-script"]["data"]["topics.sh"]
    assert script == TOPICS_SCRIPT.read_text(), "deploy/k8s/kafka-topics.yaml drifted from deploy/kafka/topics.sh"
    container = objects(manifests, "Job")["kafka-topics"]["spec"]["template"]["spec"]["containers"][0]
    assert container["image"].startswith("apache/kafka:")
    assert container["command"] == ["bash", "/opt/anzexian/topics.sh"]


def test_policy_hpa_owns_the_policy_replica_count(manifests):
    hpa = objects(manifests, "HorizontalPodAutoscaler")["policy"]
    assert hpa["apiVersion"] == "autoscaling/v2"
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "policy"}
    assert 1 < hpa["spec"]["minReplicas"] <= hpa["spec"]["maxReplicas"]
    assert "replicas" not in objects(manifests, "Deployment")["policy"]["spec"]


def test_pdbs_select_their_deployments(manifests):
    deployments = objects(manifests, "Deployment")
    for name, pdb in objects(manifests, "PodDisruptionBudget").items():
        labels = deployments[name]["spec"]["template"]["metadata"]["labels"]
        assert pdb["spec"]["selector"]["matchLabels"].items() <= labels.items()


def test_kustomize_renders_the_manifests():
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl not installed")
    rendered = subprocess.run([kubectl, "kustomize", str(K8S)], check=True, capture_output=True, text=True).stdout
    docs = [d for d in yaml.safe_load_all(rendered) if d]
    images = {
        c["image"]
        for d in docs
        if d["kind"] in {"Deployment", "Job"}
        for c in d["spec"]["template"]["spec"]["containers"]
    }
    assert "anzexian-platform" not in images, "the images transformer names the registry image"
    assert all(d["metadata"].get("namespace") == "anzexian" for d in docs if d["kind"] != "Namespace")
