"""One emulator for the whole test run, served from a thread of the test process, and boto3
clients aimed at it (boto3 comes with moto; the tests need nothing else).

    from support import emu
    ec2 = emu.client("ec2")
    emu.reset()            # holds, faults, validation: as a fresh emulator
    name = emu.unique("db")  # a name no other test uses

moto's own state is not reset between tests (a reset re-creates every backend, seconds of
CPU each time): each test makes its own resources under names of its own.
"""

import json
import os
import sys
import threading
import urllib.error
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

REGION = "us-west-2"


class Emulator:
    def __init__(self):
        from stagehand_emulator import server

        # The caller's AWS configuration (a profile, an endpoint, real keys) and proxies never
        # reach these clients: the tests talk only to this emulator, as `make test` runs them.
        for key in [k for k in os.environ if k.startswith("AWS_")]:
            del os.environ[key]
        os.environ["NO_PROXY"] = os.environ["no_proxy"] = "127.0.0.1,localhost"
        for key, value in server.DEFAULTS.items():
            os.environ.setdefault(key, value)
        os.environ.setdefault("STAGEHAND_EMULATOR_VALIDATION", "on")
        import logging

        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        from werkzeug.serving import make_server
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

        from stagehand_emulator import fidelity
        from stagehand_emulator.layer import Layer

        self.layer = Layer(DomainDispatcherApplication(create_backend_app),
                           routes=fidelity.routes())
        fidelity.install()
        self.server = make_server("127.0.0.1", 0, self.layer, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.socket.getsockname()[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.holds = sorted(self.control("GET", "holds"))

    def client(self, service, validate=True, **config):
        """A boto3 client; validate=False turns off botocore's own client-side checks so the
        emulator's are what a request meets."""
        import boto3
        from botocore.config import Config

        return boto3.client(
            service, region_name=REGION, endpoint_url=self.url,
            aws_access_key_id="test", aws_secret_access_key="test",
            config=Config(retries={"total_max_attempts": config.pop("attempts", 1), "mode": "standard"},
                          parameter_validation=validate, **config),
        )

    def control(self, method, what, body=None, expect=200):
        """A control call: its JSON answer (and its status must be `expect`)."""
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(f"{self.url}/_stagehand/{what}", data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req) as resp:
                status, raw = resp.status, resp.read()
        except urllib.error.HTTPError as e:
            status, raw = e.code, e.read()
        assert status == expect, f"control {what}: {status} {raw!r}"
        return json.loads(raw or b"null")

    def calls(self, since=0):
        return self.control("GET", f"calls?since={since}&detail=1")

    def mark(self):
        return self.control("GET", "mark")["mark"]

    def unique(self, prefix):
        self._count = getattr(self, "_count", 0) + 1
        return f"{prefix}{self._count}"

    def reset(self):
        self.control("POST", "holds", {k: 0 for k in self.holds})
        self.control("POST", "faults", [])
        self.control("POST", "validation", {"enabled": True, "limits": True})
        self.layer.checks.refusals.clear()


emu = Emulator()
