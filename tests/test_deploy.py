"""The deployment files: the Kubernetes manifest against the Kubernetes schemas, the compose file and the
Dockerfile for what the app needs, and the proxy's own nginx.conf run by a real nginx (Debian's) in front of
servers on 127.0.0.1: it must keep each browser on one replica and spread new browsers over all of them."""
from __future__ import annotations

import http.cookiejar
import os
import shutil
import threading
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml

from tests.local_servers import Proxy

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
K8S_VERSION = "1.30.0"


def manifests() -> list[dict]:
    return [d for d in yaml.safe_load_all((DEPLOY / "kubernetes.yaml").read_text()) if d]


def by_kind(kind: str, name: str) -> dict:
    return next(d for d in manifests() if d["kind"] == kind and d["metadata"]["name"] == name)


def test_every_kubernetes_object_is_valid_for_its_schema():
    import kubernetes_validate

    docs = manifests()
    assert {d["kind"] for d in docs} >= {"Deployment", "Service", "Ingress", "PersistentVolumeClaim", "Job"}
    for doc in docs:
        kubernetes_validate.validate(doc, K8S_VERSION, strict=True)
    broken = by_kind("Deployment", "studio")
    broken["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["httpGet"]["port"] = {"no": "such"}
    with pytest.raises(kubernetes_validate.ValidationError):  # the validator does refuse a wrong manifest
        kubernetes_validate.validate(broken, K8S_VERSION, strict=True)


def test_the_app_replicas_share_redis_a_read_only_model_cache_and_are_probed_for_health():
    app = by_kind("Deployment", "studio")
    assert app["spec"]["replicas"] >= 2
    pod = app["spec"]["template"]["spec"]
    container = pod["containers"][0]
    env = {e["name"]: e["value"] for e in container["env"]}
    redis_service = by_kind("Service", "studio-redis")
    assert env["CLASS_STORE"] == f"redis://{redis_service['metadata']['name']}:6379/0"
    for probe in ("readinessProbe", "livenessProbe"):
        assert container[probe]["httpGet"]["path"] == "/_stcore/health"
    assert container["resources"]["requests"]["cpu"] and container["resources"]["requests"]["memory"]
    mount = container["volumeMounts"][0]
    assert mount["mountPath"] == "/cache" and mount["readOnly"]
    assert pod["volumes"][0]["persistentVolumeClaim"]["claimName"] == "studio-models"
    assert by_kind("Service", "studio")["spec"]["sessionAffinity"] == "ClientIP"
    ingress = by_kind("Ingress", "studio")["metadata"]["annotations"]
    assert ingress["nginx.ingress.kubernetes.io/affinity"] == "cookie"
    # the replicas' training runs go to the RQ queue in the same Redis; the trainer pods are its workers
    from core.training import remote

    trainer = by_kind("Deployment", "studio-trainer")["spec"]["template"]["spec"]["containers"][0]
    assert env[remote.ENV] == f"redis://{redis_service['metadata']['name']}:6379/1"
    assert trainer["command"][:3] == ["rq", "worker", remote.QUEUE_NAME] and env[remote.ENV] in trainer["command"]
    assert trainer["image"] == container["image"]


def test_the_compose_file_runs_replicas_behind_the_proxy_with_redis():
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    services = compose["services"]
    assert {"redis", "app", "proxy"} <= set(services)
    app = services["app"]
    assert app["deploy"]["replicas"] >= 2
    assert app["environment"]["CLASS_STORE"] == "redis://redis:6379/0"
    assert "/_stcore/health" in " ".join(app["healthcheck"]["test"])
    assert any(v.endswith(":/cache:ro") for v in app["volumes"])
    assert (DEPLOY / services["proxy"]["volumes"][0].split(":")[0]).resolve() == DEPLOY / "nginx.conf"
    context = (DEPLOY / app["build"]["context"]).resolve()
    assert context == ROOT and (context / app["build"]["dockerfile"]).is_file()
    # training runs go to the RQ queue in the same Redis, and trainer workers take them
    from core.training import remote

    queue_url = app["environment"][remote.ENV]
    trainer = services["trainer"]
    assert trainer["image"] == app["image"] and trainer["deploy"]["replicas"] >= 1
    assert trainer["command"][:3] == ["rq", "worker", remote.QUEUE_NAME] and queue_url in trainer["command"]


def test_the_dockerfile_runs_the_app_with_its_caches_on_a_volume():
    text = (ROOT / "Dockerfile").read_text()
    assert "COPY requirements.txt" in text and "pip install -r requirements.txt" in text
    assert "TORCH_HOME=/cache" in text and "HF_HOME=/cache" in text and 'VOLUME ["/cache"]' in text
    assert "HEALTHCHECK" in text and "/_stcore/health" in text
    assert '"streamlit", "run", "app.py"' in text
    assert ".venv" in (ROOT / ".dockerignore").read_text()


class Replica:
    """A plain HTTP server on 127.0.0.1 that answers with its own name, standing for one app replica."""

    def __init__(self, name: str):
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                body = name.encode()
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self.address = f"127.0.0.1:{self.httpd.server_address[1]}"

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def proxy(tmp_path):
    if shutil.which("nginx") is None and not Path("/usr/sbin/nginx").exists():
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true but no nginx: install Debian's nginx-light")
        pytest.skip("no nginx")
    replicas = [Replica(f"replica-{i}") for i in range(3)]
    p = Proxy([r.address for r in replicas], tmp_path)
    yield p
    p.stop()
    for r in replicas:
        r.stop()


def test_the_proxy_keeps_each_browser_on_one_replica_and_spreads_browsers(proxy):
    landed = set()
    for _ in range(12):  # twelve browsers, each with its own cookies
        jar = http.cookiejar.CookieJar()
        browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        first = browser.open(f"{proxy.url}/", timeout=10).read().decode()
        assert any(c.name == "studio_replica" for c in jar)
        for path in ("/transposed_convolution", "/_stcore/health", "/_stcore/upload_file/x"):
            assert browser.open(f"{proxy.url}{path}", timeout=10).read().decode() == first
        landed.add(first)
    assert len(landed) >= 2  # new browsers behind one address do not all land on one replica
